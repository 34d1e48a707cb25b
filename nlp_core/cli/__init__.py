"""`python -m nlp_core COMMAND`: each command lives in its own module and registers on `app`."""
# importing registers the commands
from . import convert, display, evaluate, init_config, init_vectors, pretrain, tokenize, train  # noqa: F401
from ._app import app, init_cli


def main() -> None:
    app()


__all__ = ["app", "init_cli", "main"]
