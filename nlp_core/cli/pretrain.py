"""`python -m nlp_core pretrain`: pretrain a pipeline's embedding layer on raw text.

    python -m nlp_core init fill-config config.cfg config_pretrain.cfg --pretraining
    python -m nlp_core pretrain config_pretrain.cfg ./pretrain --paths.raw_text text.jsonl
    python -m nlp_core pretrain config_pretrain.cfg ./pretrain --resume-path \\
        ./pretrain/model-last.bin

Any `--section.key value` option overrides the config. The config needs a [pretraining]
section (its missing settings take the defaults of default_config_pretraining.cfg). The
weights go into training with `[initialize] init_tok2vec = "pretrain/model-last.bin"`.
"""
import sys
from pathlib import Path
from typing import Any, Dict, Optional

import typer

from ..config import (
    fill_config,
    get_default_config,
    load_config,
    load_config_from_str,
    parse_config_overrides,
)
from ..errors import Errors
from ..training.pretrain import Pretrainer
from ..user_code import import_code
from ._app import app
from .train import setup_gpu


def load_pretraining_config(config_path: str, overrides: Dict[str, Any]):
    """Read a config that has a [pretraining] section (E521 otherwise), add the default
    sections, apply the overrides and fill in every default."""
    raw = load_config(config_path)
    if "pretraining" not in raw:
        raise ValueError(Errors.E521.format(path=config_path))
    config = get_default_config(pretraining=True).merge(raw)
    if overrides:
        config = load_config_from_str(config.to_str(interpolate=False), overrides,
                                      source=str(config_path))
    return fill_config(config, pretraining=True)


def _fail(err: BaseException) -> None:
    typer.echo(str(err), err=True)
    raise typer.Exit(1)


@app.command("pretrain", context_settings={"allow_extra_args": True,
                                           "ignore_unknown_options": True})
def pretrain_cli(
    ctx: typer.Context,
    config_path: str = typer.Argument(..., help="The config, with a [pretraining] section "
                                      "('-': stdin)."),
    output_dir: Path = typer.Argument(..., help="Directory for model*.bin and log.jsonl."),
    code: Optional[Path] = typer.Option(None, "--code", "-c", help="A Python file to import "
                                        "first (functions the config names)."),
    resume_path: Optional[Path] = typer.Option(None, "--resume-path", "-r", help="A "
                                               "checkpoint to continue from (weights and "
                                               "optimizer state)."),
    epoch_resume: Optional[int] = typer.Option(None, "--epoch-resume", "-er", help="Epoch "
                                               "to continue with (default: the one after "
                                               "the checkpoint's)."),
    max_steps: int = typer.Option(0, "--max-steps", help="Stop after this many batches in "
                                  "all (0: run [pretraining] max_epochs)."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU to use (-1: CPU)."),
) -> None:
    """Pretrain the [pretraining] component's embedding layer of CONFIG_PATH on raw text
    (paths.raw_text), writing checkpoints to OUTPUT_DIR. Extra `--section.key value`
    options override the config."""
    try:
        overrides = parse_config_overrides(ctx.args)
        import_code(code)
        setup_gpu(gpu_id)
        config = load_pretraining_config(config_path, overrides)
        pretrainer = Pretrainer(config, output_dir, resume_path=resume_path,
                                epoch_resume=epoch_resume, max_steps=max_steps,
                                stdout=sys.stdout)
        pretrainer.run()
    except (ValueError, OSError) as err:
        _fail(err)
