"""`python -m nlp_core evaluate`: score a trained pipeline on annotated data.

    python -m nlp_core evaluate out/model-best en_ewt-ud-test.conllu --output scores.json
    python -m nlp_core evaluate out/model-best test.spacy --gold-preproc

By default the pipeline tokenizes the raw text and its tokens are aligned to the gold ones
by character offsets (CoNLL 2018 style); `--gold-preproc` runs it on the gold tokens.
"""
import sys
from pathlib import Path
from typing import IO, Any, Dict, List, Optional, Tuple

import srsly
import typer

import nlp_core

from ..errors import Errors
from ..training.corpus import Corpus
from ..training.loop import single_blas_thread
from ..user_code import import_code
from ._app import app
from .train import setup_gpu

# Table rows: label and score key, in the order printed (rows without a score are left out).
METRICS: Tuple[Tuple[str, str], ...] = (
    ("TOK", "token_acc"), ("TOK P", "token_p"), ("TOK R", "token_r"), ("TOK F", "token_f"),
    ("TAG", "tag_acc"), ("POS", "pos_acc"), ("MORPH", "morph_acc"), ("LEMMA", "lemma_acc"),
    ("UAS", "dep_uas"), ("LAS", "dep_las"), ("NER P", "ents_p"), ("NER R", "ents_r"),
    ("NER F", "ents_f"), ("SENT P", "sents_p"), ("SENT R", "sents_r"), ("SENT F", "sents_f"),
    ("SPEED", "speed"),
)
PER_TYPE = (("LAS per label", "dep_las_per_type"), ("NER per type", "ents_per_type"))


def format_scores(scores: Dict[str, Any]) -> str:
    """The score table `evaluate` prints: accuracies x100, speed in words/s, then the
    per-label tables."""
    lines: List[str] = []
    for label, key in METRICS:
        if key not in scores:
            continue
        value = scores[key]
        if not isinstance(value, (int, float)):
            text = "-"
        elif key == "speed":
            text = f"{value:.0f} words/s"
        else:
            text = f"{value * 100:.2f}"
        lines.append(f"{label:<8}{text}")
    for title, key in PER_TYPE:
        table = scores.get(key)
        if not table:
            continue
        lines.append("")
        lines.append(f"{title}:")
        lines.append(f"{'':<12}{'P':>8}{'R':>8}{'F':>8}")
        for label, prf in table.items():
            lines.append(f"{label:<12}" + "".join(f"{prf[k] * 100:>8.2f}" for k in "prf"))
    return "\n".join(lines)


def evaluate(model: str, data_path: Path, *, output: Optional[Path] = None,
             gold_preproc: bool = False, batch_size: Optional[int] = None,
             stdout: Optional[IO] = None) -> Dict[str, Any]:
    """Load MODEL, score it on DATA_PATH, print the table and optionally write JSON.

    Returns:
        every score `nlp.evaluate` returned.
    """
    stdout = stdout or sys.stdout
    data_path = Path(data_path)
    if not data_path.exists():
        raise FileNotFoundError(Errors.E414.format(path=data_path))
    if Path(model).is_dir() and not (Path(model) / "config.cfg").is_file():
        raise FileNotFoundError(Errors.E415.format(path=model))
    nlp = nlp_core.load(model)
    corpus = Corpus(data_path, gold_preproc=gold_preproc)
    examples = list(corpus(nlp))
    kwargs = {"batch_size": batch_size} if batch_size else {}
    with single_blas_thread():
        scores = nlp.evaluate(examples, **kwargs)
    n_words = sum(len(eg.reference) for eg in examples)
    stdout.write(f"Evaluated {model} on {len(examples)} docs ({n_words} gold tokens) of "
                 f"{data_path}" + (" with gold tokens" if gold_preproc else "") + "\n\n")
    stdout.write(format_scores(scores) + "\n")
    if output is not None:
        output = Path(output)
        output.parent.mkdir(parents=True, exist_ok=True)
        srsly.write_json(output, scores)
        stdout.write(f"\nSaved scores to {output}\n")
    return scores


@app.command("evaluate")
def evaluate_cli(
    model: str = typer.Argument(..., help="A pipeline directory (e.g. out/model-best) or an "
                                "installed pipeline package."),
    data_path: Path = typer.Argument(..., help="Gold data: a .spacy / .conllu / .iob file or "
                                     "a directory of them."),
    output: Optional[Path] = typer.Option(None, "--output", "-o",
                                          help="Write every score to this JSON file."),
    gold_preproc: bool = typer.Option(False, "--gold-preproc", "-G",
                                      help="Run on the gold tokens instead of raw text."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", "-b",
                                             help="Docs per batch (default: the pipeline's)."),
    code: Optional[Path] = typer.Option(None, "--code", "-c", help="A Python file to import "
                                        "first (functions the pipeline's config names)."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU to run on (-1: CPU)."),
) -> None:
    """Score MODEL on DATA_PATH: token accuracy and P/R/F, tags, POS, and UAS/LAS,
    entities and sentences when the pipeline predicts them, plus words per second."""
    try:
        import_code(code)
        setup_gpu(gpu_id)
        evaluate(model, data_path, output=output, gold_preproc=gold_preproc,
                 batch_size=batch_size)
    except (ValueError, OSError) as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(1) from None
