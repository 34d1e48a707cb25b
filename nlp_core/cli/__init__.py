"""`python -m nlp_core COMMAND`: each command lives in its own module and registers on `app`."""
import importlib

from ._app import app, init_cli

# Each module adds its command(s) to `app` when imported; a module that does not exist yet
# is simply a command that has not been built.
_COMMAND_MODULES = ("convert", "init_config", "tokenize")
for _name in _COMMAND_MODULES:
    try:
        importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as err:
        if err.name != f"{__name__}.{_name}":
            raise


def main() -> None:
    app()


__all__ = ["app", "init_cli", "main"]
