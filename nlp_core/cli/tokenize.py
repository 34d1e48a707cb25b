"""`python -m nlp_core tokenize`: split text into tokens with a language's rules."""
import json
import sys
from pathlib import Path

import typer

import nlp_core

from ._app import app


@app.command("tokenize")
def tokenize_cli(
    input_path: str = typer.Argument(..., help="Text file, one document per line; '-' reads stdin."),
    lang: str = typer.Option("en", "--lang", "-l", help="Language code of the tokenizer rules."),
    jsonl: bool = typer.Option(False, "--jsonl", help="Write {tokens, spaces} JSON records "
                               "instead of space-separated tokens."),
) -> None:
    """Tokenize each line of INPUT_PATH and print its tokens (one line per input line)."""
    nlp = nlp_core.blank(lang)
    if input_path == "-":
        lines = sys.stdin
    else:
        path = Path(input_path)
        if not path.exists():
            typer.echo(f"Input file {path} does not exist.", err=True)
            raise typer.Exit(1)
        lines = path.open(encoding="utf8")
    for line in lines:
        doc = nlp.make_doc(line.rstrip("\n"))
        if jsonl:
            record = {"tokens": doc.token_texts(), "spaces": doc.column("trailing_space").tolist()}
            typer.echo(json.dumps(record, ensure_ascii=False))
        else:
            typer.echo(" ".join(doc.token_texts()))
