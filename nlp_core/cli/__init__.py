"""`python -m nlp_core COMMAND`: each command lives in its own module and registers on `app`."""
from . import convert, evaluate, init_config, init_vectors, pretrain, tokenize, train  # noqa: F401  (importing registers the commands)
from ._app import app, init_cli


def main() -> None:
    app()


__all__ = ["app", "init_cli", "main"]
