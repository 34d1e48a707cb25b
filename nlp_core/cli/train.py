"""`python -m nlp_core train`: train a pipeline from a config.

    python -m nlp_core train config.cfg --output out/ \\
        --paths.train train.spacy --paths.dev dev.conllu --training.max_steps 2000
    python -m nlp_core train config.cfg --output out/ --code my_layers.py --gpu-id 0
    python -m nlp_core train finetune.cfg --resume-from en_ewt_sm --output out/ \
        --paths.train new_label.spacy --paths.dev dev.spacy --paths.raw_text text.jsonl

Any `--section.key value` option overrides the config (values read as JSON where they
parse). The config is completed with the defaults first (as `init fill-config` does), so
a partial config trains as long as nothing required is missing; missing values fail with
every key named.

With `--resume-from PIPELINE` a trained pipeline (directory, shipped or installed name) is
fine-tuned instead of a new one built: its config.cfg is the base, CONFIG's sections are
merged over it (corpora, [training], paths; [nlp] and [components] must stay as they are),
the weights are kept and the components that are not frozen get the new labels of the
training data (`training.resume`). Only such a run can rehearse (`[training]
rehearse_corpus`, `training.rehearsal`).
"""
import sys
from pathlib import Path
from typing import Any, Dict, Optional

import typer
from thinc.api import require_gpu

from ..config import (
    fill_config,
    get_default_config,
    load_config,
    load_config_from_str,
    parse_config_overrides,
    validate_training_config,
)
from ..errors import Errors
from ..loading import load
from ..ml.parse_threads import default_gpu_threads, set_parse_threads
from ..training.loop import init_nlp, train
from ..training.resume import resume_config, resume_nlp
from ..user_code import import_code
from ._app import app


def setup_gpu(gpu_id: int) -> None:
    """Select GPU `gpu_id` for thinc (and so for every model); -1 stays on CPU. On a GPU
    the parser's and NER's inference loops (evaluation's parses) run on the cores but one
    (`ml/parse_threads.py`): they are the host's share of the work there."""
    if gpu_id < 0:
        return
    try:
        require_gpu(gpu_id)
    except Exception as err:  # no cupy, no device, or a bad id: all end the same way
        raise ValueError(Errors.E411.format(gpu_id=gpu_id, reason=err)) from None
    set_parse_threads(default_gpu_threads())


def load_training_config(config_path: str, overrides: Dict[str, Any], base=None):
    """Read a config, add the default sections, apply the overrides, fill and validate.
    With `base` (a trained pipeline, `train --resume-from`), the config is the pipeline's
    own with CONFIG merged over it.

    Overrides are applied after the default sections are added, so `--paths.train` works
    for a config file without a [paths] section.
    """
    config = load_config(config_path)
    if base is not None:
        config = resume_config(base, config)
    config = get_default_config().merge(config)
    if overrides:
        config = load_config_from_str(config.to_str(interpolate=False), overrides,
                                      source=str(config_path))
    filled = fill_config(config)
    validate_training_config(filled, require_paths=True)
    return filled


def load_base(name: str):
    """The pipeline to fine-tune (E613 naming it when it does not load)."""
    try:
        return load(name)
    except (OSError, ValueError) as err:
        raise ValueError(Errors.E613.format(path=name, reason=err)) from None


def _fail(err: BaseException) -> None:
    typer.echo(str(err), err=True)
    raise typer.Exit(1)


@app.command("train", context_settings={"allow_extra_args": True,
                                        "ignore_unknown_options": True})
def train_cli(
    ctx: typer.Context,
    config_path: str = typer.Argument(..., help="The training config ('-': stdin)."),
    output_path: Optional[Path] = typer.Option(
        None, "--output", "-o", help="Directory for model-last/ and model-best/ (default: "
        "save nothing)."),
    code: Optional[Path] = typer.Option(None, "--code", "-c", help="A Python file to import "
                                        "first, so that the functions it registers can be "
                                        "named in the config."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU to train on (-1: CPU)."),
    resume_from: Optional[str] = typer.Option(
        None, "--resume-from", help="Fine-tune this trained pipeline (a directory or a "
        "shipped / installed name) instead of building a new one: its [nlp] and "
        "[components] and weights are kept, CONFIG gives the training settings."),
) -> None:
    """Train the pipeline CONFIG_PATH describes on the train corpus (paths.train), scoring on the dev corpus (paths.dev).
    Extra `--section.key value` options override the config."""
    try:
        overrides = parse_config_overrides(ctx.args)
        import_code(code)
        setup_gpu(gpu_id)
        base = load_base(resume_from) if resume_from is not None else None
        config = load_training_config(config_path, overrides, base)
    except (ValueError, OSError) as err:
        _fail(err)
    try:
        if base is None:
            nlp = init_nlp(config, use_gpu=gpu_id)
        else:
            nlp = resume_nlp(config, base, use_gpu=gpu_id, name=resume_from)
            typer.echo(f"Fine-tuning {resume_from}")
        train(nlp, output_path, stdout=sys.stdout, stderr=sys.stderr)
    except (ValueError, OSError) as err:
        _fail(err)
