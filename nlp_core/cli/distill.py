"""`python -m nlp_core distill`: teach a student pipeline a trained teacher's outputs on
raw text.

    python -m nlp_core distill teacher/model-best student.cfg out/ \\
        --paths.raw_text text.jsonl --paths.dev dev.conllu --distillation.max_steps 20000
    python -m nlp_core distill en_ewt_trf student.cfg out/ --paths.raw_text shards/ --gpu-id 0

TEACHER_PIPELINE is a pipeline directory or a shipped / installed pipeline name.
STUDENT_CONFIG is a training config (e.g. from `init config --distillation`); its
`[distillation]` block (added with its defaults when missing) names the raw-text corpus
(`paths.raw_text`: JSONL, .spacy, or a directory of them such as the pretraining-corpus
job's shards), the student-to-teacher component mapping, batcher, optimizer, dropout and
max_epochs / max_steps; `[training]` gives the dev corpus (`paths.dev`), score weights and
logger. OUTPUT receives model-last/ and model-best/ as `train` writes them. Any
`--section.key value` option overrides the config.
"""
import sys
from pathlib import Path
from typing import Any, Dict, Optional

import typer

from ..config import (
    MissingValuesError,
    fill_config,
    get_default_config,
    get_dot,
    load_config,
    load_config_from_str,
    parse_config_overrides,
    validate_training_config,
)
from ..errors import Errors
from ..loading import load
from ..training.distill import distill, init_student
from ..user_code import import_code
from ._app import app
from .train import setup_gpu


def load_student_config(config_path: str, overrides: Dict[str, Any]):
    """Read the student's config, add the default sections (with [distillation]), apply
    the overrides, fill and check that the raw text and dev corpora have paths."""
    config = get_default_config(distillation=True).merge(load_config(config_path))
    if overrides:
        config = load_config_from_str(config.to_str(interpolate=False), overrides,
                                      source=str(config_path))
    filled = fill_config(config, distillation=True)
    validate_training_config(filled)
    interpolated = filled.interpolate()
    missing = []
    for key in (get_dot(interpolated, "distillation.corpus"),
                get_dot(interpolated, "training.dev_corpus")):
        block = get_dot(interpolated, key) if isinstance(key, str) else None
        if block is None:
            missing.append(str(key))
        elif hasattr(block, "get") and "path" in block and block["path"] is None:
            raw = get_dot(filled, f"{key}.path")
            missing.append(raw.strip("${}") if isinstance(raw, str) and raw.startswith("${")
                           else f"{key}.path")
    if missing:
        raise MissingValuesError(Errors.E202.format(
            n=len(missing), keys="\n".join(f"  - {k}" for k in missing), hint=Errors.E209),
            missing)
    return filled


def load_teacher(name: str):
    """The teacher pipeline (E606 naming it when it does not load)."""
    try:
        return load(name)
    except (OSError, ValueError) as err:
        raise ValueError(Errors.E606.format(path=name, reason=err)) from None


def _fail(err: BaseException) -> None:
    typer.echo(str(err), err=True)
    raise typer.Exit(1)


@app.command("distill", context_settings={"allow_extra_args": True,
                                          "ignore_unknown_options": True})
def distill_cli(
    ctx: typer.Context,
    teacher_path: str = typer.Argument(..., help="The teacher: a pipeline directory or a "
                                       "shipped / installed pipeline name."),
    config_path: str = typer.Argument(..., help="The student's config ('-': stdin)."),
    output_path: Path = typer.Argument(..., help="Directory for model-last/ and "
                                       "model-best/."),
    code: Optional[Path] = typer.Option(None, "--code", "-c", help="A Python file to import "
                                        "first (functions the configs name)."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU to run on (-1: CPU)."),
) -> None:
    """Distil TEACHER_PIPELINE into the student CONFIG_PATH describes, on raw text
    (paths.raw_text), scoring the student on the dev corpus (paths.dev). Extra
    `--section.key value` options override the config."""
    try:
        overrides = parse_config_overrides(ctx.args)
        import_code(code)
        setup_gpu(gpu_id)
        config = load_student_config(config_path, overrides)
        teacher = load_teacher(teacher_path)
    except (ValueError, OSError) as err:
        _fail(err)
    try:
        student = init_student(config, teacher, use_gpu=gpu_id)
        distill(teacher, student, output_path, stdout=sys.stdout, stderr=sys.stderr)
    except (ValueError, OSError, TypeError) as err:
        _fail(err)
