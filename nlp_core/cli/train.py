"""`python -m nlp_core train`: train a pipeline from a config.

    python -m nlp_core train config.cfg --output out/ \\
        --paths.train train.spacy --paths.dev dev.conllu --training.max_steps 2000
    python -m nlp_core train config.cfg --output out/ --code my_layers.py --gpu-id 0

Any `--section.key value` option overrides the config (values read as JSON where they
parse). The config is completed with the defaults first (as `init fill-config` does), so
a partial config trains as long as nothing required is missing; missing values fail with
every key named.
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
from ..training.loop import init_nlp, train
from ..user_code import import_code
from ._app import app


def setup_gpu(gpu_id: int) -> None:
    """Select GPU `gpu_id` for thinc (and so for every model); -1 stays on CPU."""
    if gpu_id < 0:
        return
    try:
        require_gpu(gpu_id)
    except Exception as err:  # no cupy, no device, or a bad id: all end the same way
        raise ValueError(Errors.E411.format(gpu_id=gpu_id, reason=err)) from None


def load_training_config(config_path: str, overrides: Dict[str, Any]):
    """Read a config, add the default sections, apply the overrides, fill and validate.

    Overrides are applied after the default sections are added, so `--paths.train` works
    for a config file without a [paths] section.
    """
    config = get_default_config().merge(load_config(config_path))
    if overrides:
        config = load_config_from_str(config.to_str(interpolate=False), overrides,
                                      source=str(config_path))
    filled = fill_config(config)
    validate_training_config(filled, require_paths=True)
    return filled


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
) -> None:
    """Train the pipeline CONFIG_PATH describes on the train corpus (paths.train), scoring on the dev corpus (paths.dev).
    Extra `--section.key value` options override the config."""
    try:
        overrides = parse_config_overrides(ctx.args)
        import_code(code)
        setup_gpu(gpu_id)
        config = load_training_config(config_path, overrides)
    except (ValueError, OSError) as err:
        _fail(err)
    try:
        nlp = init_nlp(config, use_gpu=gpu_id)
        train(nlp, output_path, stdout=sys.stdout, stderr=sys.stderr)
    except (ValueError, OSError) as err:
        _fail(err)
