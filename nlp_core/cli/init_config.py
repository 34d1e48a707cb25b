"""`init config` writes a complete training config; `init fill-config` completes one.

    python -m nlp_core init config config.cfg --lang en --pipeline tagger,parser,ner
    python -m nlp_core init config config.cfg --pipeline tagger,parser --pretraining
    python -m nlp_core init config trf.cfg --pipeline ner --optimize accuracy --gpu
    python -m nlp_core init fill-config partial.cfg config.cfg [--pretraining] [--distillation]
    python -m nlp_core init config student.cfg --pipeline tagger,parser,ner --distillation

The generated blocks use the names of the spaCy documentation (`spacy.Tok2Vec.v2`,
`spacy-transformers.TransformerModel.v3`, ...), which nlp_core registers as aliases.
"""
import sys
from enum import Enum
from pathlib import Path
from typing import Any, Dict, List

import typer
from confection import Config

from ..config import fill_config, find_missing, get_default_config, load_config
from ..errors import Errors
from ..registry import RegistryNameError
from ..user_code import import_code
from ._app import init_cli

# Components `init config` knows how to write, in pipeline order.
SUPPORTED = ("tagger", "parser", "ner")
# The transformer `--gpu --optimize accuracy` uses; override with
# `--components.transformer.model.name /path/to/local/model` when offline.
TRANSFORMER_NAME = "roberta-base"


class Optimize(str, Enum):
    efficiency = "efficiency"
    accuracy = "accuracy"


def _tok2vec_block(accuracy: bool) -> Dict[str, Any]:
    width = 256 if accuracy else 96
    return {
        "factory": "tok2vec",
        "model": {
            "@architectures": "spacy.Tok2Vec.v2",
            "embed": {
                "@architectures": "spacy.MultiHashEmbed.v2",
                "width": "${components.tok2vec.model.encode.width}",
                "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
                "rows": [5000, 1000, 2500, 2500],
                "include_static_vectors": False,
            },
            "encode": {
                "@architectures": "spacy.MaxoutWindowEncoder.v2",
                "width": width,
                "depth": 8 if accuracy else 4,
                "window_size": 1,
                "maxout_pieces": 3,
            },
        },
    }


def _transformer_block() -> Dict[str, Any]:
    return {
        "factory": "transformer",
        "max_batch_items": 4096,
        "set_extra_annotations": {
            "@annotation_setters": "spacy-transformers.null_annotation_setter.v1"},
        "model": {
            "@architectures": "spacy-transformers.TransformerModel.v3",
            "name": TRANSFORMER_NAME,
            "mixed_precision": False,
            "get_spans": {"@span_getters": "spacy-transformers.strided_spans.v1",
                          "window": 128, "stride": 96},
            "tokenizer_config": {"use_fast": True},
            "transformer_config": {},
            "grad_scaler_config": {},
        },
    }


def _listener(transformer: bool) -> Dict[str, Any]:
    if transformer:
        return {"@architectures": "spacy-transformers.TransformerListener.v1",
                "grad_factor": 1.0, "upstream": "*",
                "pooling": {"@layers": "reduce_mean.v1"}}
    return {"@architectures": "spacy.Tok2VecListener.v1",
            "width": "${components.tok2vec.model.encode.width}", "upstream": "*"}


def _component_block(name: str, transformer: bool) -> Dict[str, Any]:
    if name == "tagger":
        model = {"@architectures": "spacy.Tagger.v2", "nO": None, "normalize": False}
    else:
        parser = name == "parser"
        model = {"@architectures": "spacy.TransitionBasedParser.v3",
                 "state_type": "parser" if parser else "ner", "extra_state_tokens": False,
                 "hidden_width": 128 if parser else 64, "maxout_pieces": 3 if parser else 2,
                 "use_upper": not transformer, "nO": None}
    model["tok2vec"] = _listener(transformer)
    return {"factory": name, "model": model}


def _training_overrides(transformer: bool) -> Dict[str, Any]:
    if not transformer:
        return {}
    return {
        "system": {"gpu_allocator": "pytorch"},
        "training": {
            "accumulate_gradient": 3,
            "batcher": {"@batchers": "nlp_core.batch_by_padded.v1", "discard_oversize": True,
                        "size": 2000, "buffer": 256, "get_length": None},
            "optimizer": {"learn_rate": {"@schedules": "warmup_linear.v1", "warmup_steps": 250,
                                         "total_steps": 20000, "initial_rate": 5e-5}},
        },
    }


def make_training_config(lang: str, pipeline: List[str], *, optimize: str = "efficiency",
                         gpu: bool = False, distillation: bool = False) -> Config:
    """The complete training config `init config` writes.

    Args:
        lang: language code of [nlp].
        pipeline: component names among SUPPORTED.
        optimize: "efficiency" (smaller, faster) or "accuracy" (larger).
        gpu: with "accuracy", embed with a shared transformer instead of a CNN tok2vec.
        distillation: add the [distillation] block (`python -m nlp_core distill`).
    """
    unknown = [name for name in pipeline if name not in SUPPORTED]
    if unknown or not pipeline:
        raise ValueError(Errors.E229.format(names=unknown or pipeline,
                                            supported=", ".join(SUPPORTED)))
    transformer = gpu and optimize == "accuracy"
    embed = "transformer" if transformer else "tok2vec"
    components = {embed: _transformer_block() if transformer
                  else _tok2vec_block(optimize == "accuracy")}
    for name in SUPPORTED:
        if name in pipeline:
            components[name] = _component_block(name, transformer)
    template = Config({"nlp": {"lang": lang, "pipeline": list(components)},
                       "components": components})
    template = template.merge(Config(_training_overrides(transformer)))
    return get_default_config(distillation=distillation).merge(template)


def _fill_if_registered(config: Config) -> Config:
    """Fill factory and function defaults when every name the config uses is registered;
    otherwise keep the template, which already spells out every model setting."""
    try:
        return fill_config(config)
    except RegistryNameError as err:
        typer.echo(f"Note: wrote the template without filling defaults: {err}", err=True)
        return config


def _write(config: Config, output: str) -> None:
    text = config.to_str(interpolate=False)
    if output == "-":
        sys.stdout.write(text + "\n")
    else:
        Path(output).write_text(text + "\n", encoding="utf8")


def _fail(err: Exception) -> None:
    typer.echo(str(err), err=True)
    raise typer.Exit(1)


@init_cli.command("config")
def init_config_cli(
    output_file: str = typer.Argument(..., help="Where to write the config ('-': stdout)."),
    lang: str = typer.Option("en", "--lang", "-l", help="Language code of the pipeline."),
    pipeline: str = typer.Option("tagger,parser,ner", "--pipeline", "-p",
                                 help="Comma-separated components: " + ", ".join(SUPPORTED)),
    optimize: Optimize = typer.Option(Optimize.efficiency, "--optimize", "-o",
                                      help="efficiency: smaller and faster; accuracy: larger."),
    gpu: bool = typer.Option(False, "--gpu", "-G", help="Train on GPU (with --optimize "
                             "accuracy: a shared transformer instead of a CNN tok2vec)."),
    pretraining: bool = typer.Option(False, "--pretraining", "-pt", help="Also add the "
                                     "[pretraining] section (for `pretrain`)."),
    force: bool = typer.Option(False, "--force", "-F", help="Overwrite OUTPUT_FILE."),
    distillation: bool = typer.Option(False, "--distillation", "-di", help="Add the "
                                      "[distillation] block, for a student of `distill`."),
) -> None:
    """Write a complete training config for LANG and PIPELINE to OUTPUT_FILE."""
    if output_file != "-" and Path(output_file).exists() and not force:
        _fail(FileExistsError(f"{output_file} exists; pass --force to overwrite it."))
    names = [name.strip() for name in pipeline.split(",") if name.strip()]
    try:
        config = make_training_config(lang, names, optimize=optimize.value, gpu=gpu,
                                      distillation=distillation)
        if pretraining:
            config = get_default_config(pretraining=True).merge(config)
    except ValueError as err:
        _fail(err)
    _write(_fill_if_registered(config), output_file)
    if output_file != "-" and distillation:
        typer.echo(f"Wrote {output_file}. Distil with: python -m nlp_core distill TEACHER "
                   f"{output_file} OUTPUT --paths.raw_text ./text.jsonl --paths.dev ./dev.spacy",
                   err=True)
    elif output_file != "-":
        typer.echo(f"Wrote {output_file}. Train with: python -m nlp_core train {output_file} "
                   "--paths.train ./train.spacy --paths.dev ./dev.spacy", err=True)


@init_cli.command("fill-config")
def fill_config_cli(
    base_path: str = typer.Argument(..., help="The partial config ('-': stdin)."),
    output_file: str = typer.Argument("-", help="Where to write the filled config ('-': "
                                      "stdout)."),
    pretraining: bool = typer.Option(False, "--pretraining", "-pt",
                                     help="Also add the defaults of the pretraining section."),
    distillation: bool = typer.Option(False, "--distillation", "-di",
                                      help="Also add the defaults of the distillation section."),
    code: Path | None = typer.Option(None, "--code", "-c", help="A Python file that "
                                        "registers functions the config uses."),
) -> None:
    """Complete BASE_PATH with every default: missing sections, component factory settings
    and the default arguments of each registered function."""
    try:
        import_code(code)
        filled = fill_config(load_config(base_path), pretraining=pretraining,
                             distillation=distillation)
    except (ValueError, OSError) as err:
        _fail(err)
    missing = find_missing(filled)
    if missing:
        _fail(ValueError(Errors.E202.format(n=len(missing), hint=Errors.E208,
                                            keys="\n".join(f"  - {k}" for k in missing))))
    _write(filled, output_file)
