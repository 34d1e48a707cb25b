"""`python -m nlp_core display`: a page of documents from the annotate job's Parquet output."""
import os
import time
from pathlib import Path
from typing import List, Optional

import typer

from ..display import serve
from ..display_page import build_page
from ..display_table import run_summaries, select
from ..errors import Errors
from ._app import app

WHERE_HELP = ("Filter on the annotations table, SQL-like: comparisons (= != < <= > >=), AND, "
              "OR, NOT, IS [NOT] NULL, [NOT] IN (...), [NOT] LIKE / ILIKE, BETWEEN; columns "
              "such as doc_id, source, offset, text, pipeline.name, ents.label; functions "
              "length, lower, upper, list_contains, contains, regexp_matches. E.g. "
              "\"list_contains(ents.label, 'ORG') AND length(token_start) < 40\".")


@app.command("display")
def display_cli(
    parquet_glob: str = typer.Argument(..., help="The annotate job's output directory, its "
                                       "annotations/ folder, or a glob of its Parquet files."),
    doc_id: Optional[List[str]] = typer.Option(None, "--doc-id", help="A document to show "
                                               "(repeat for more)."),
    where: Optional[str] = typer.Option(None, "--where", help=WHERE_HELP),
    limit: Optional[int] = typer.Option(None, "--limit", help="At most this many documents "
                                        "(default: every --doc-id, else 20; at most 1000)."),
    style: str = typer.Option("dep", "--style", help="dep (arcs and tags), ent (entities) or "
                              "span (span groups)."),
    max_tokens: int = typer.Option(2000, "--max-tokens", help="Show at most this many tokens "
                                   "of a document."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the page here."),
    serve_port: Optional[int] = typer.Option(None, "--serve", help="Serve the page on "
                                             "http://127.0.0.1:PORT/ until Ctrl-C instead."),
) -> None:
    """Show documents of the annotations table as one HTML page (arcs, entities or spans),
    with their ids, metadata and the run's summary. Reads only the row groups and columns
    it needs."""
    try:
        if (output is None) == (serve_port is None):
            raise ValueError(Errors.E594)
        if serve_port is not None and not 0 < serve_port < 65536:
            raise ValueError(Errors.E595.format(port=serve_port, reason="not a port number"))
        if output is not None and output.is_dir():
            raise ValueError(Errors.E593.format(path=output, reason="it is a directory"))
        if max_tokens < 1:
            raise ValueError(f"--max-tokens {max_tokens}: give a number of tokens >= 1.")
        started = time.perf_counter()
        ids = list(doc_id or [])
        selection = select(parquet_glob, style=style, doc_ids=ids, where=where, limit=limit,
                           max_tokens=max_tokens)
        picked = time.perf_counter() - started
        page = build_page(selection, run_summaries(selection.files), style=style,
                          pattern=parquet_glob, doc_ids=ids, where=where, limit=limit)
    except ValueError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"picked {len(selection.docs)} document(s) of {selection.total_rows} rows in "
               f"{len(selection.files)} file(s) in {picked:.2f} s", err=True)
    for missing in selection.missing_ids:
        typer.echo(f"no row with doc_id {missing!r}", err=True)
    for error in selection.errors:
        typer.echo(error, err=True)
    if output is not None:
        try:
            tmp = output.with_name(output.name + f".tmp-{os.getpid()}")
            tmp.write_text(page, encoding="utf8")
            os.replace(tmp, output)
        except OSError as err:
            raise_exit(Errors.E593.format(path=output, reason=err))
        typer.echo(f"wrote {output}", err=True)
        return
    try:
        serve(None, html=page, port=serve_port)
    except OSError as err:
        raise_exit(Errors.E595.format(port=serve_port, reason=err))


def raise_exit(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(1)
