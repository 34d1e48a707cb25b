"""`python -m nlp_core COMMAND`: each command lives in its own module and registers on `app`."""
# importing registers the commands
from . import (  # noqa: F401
    convert,
    display,
    distill,
    evaluate,
    init_config,
    init_vectors,
    pretrain,
    tokenize,
    train,
)
from ._app import app, init_cli


def main() -> None:
    app()


__all__ = ["app", "init_cli", "main"]
