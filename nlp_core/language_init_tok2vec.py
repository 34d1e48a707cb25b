"""`[initialize] init_tok2vec`: load a `pretrain` checkpoint into the pipeline's embedding.

The weights go into the component (and layer) named by `[pretraining]`; without that
section, into the pipeline's only embedding: its one `tok2vec` component, else the one
component whose model has a "tok2vec" layer that is not a listener. Before anything is
loaded the checkpoint's checksum is verified and its architecture compared with the
pipeline's, setting by setting: a mismatch fails naming each differing setting
("encode.width 96 != 128"). A path that does not exist always fails (spaCy ignores
`init_tok2vec` when the config has no [pretraining] section).

What was loaded is logged (logger "nlp_core") and kept in `nlp.meta["init_tok2vec"]`
(path, checksum, objective, epoch, step, the layers that received weights), so a trained
pipeline's meta.json says what it started from.
"""
import logging
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Tuple, Union

from confection import Config
from thinc.api import Model

from .errors import Errors
from .training.pretrain_checkpoint import (
    architecture_block,
    architecture_differences,
    read_checkpoint,
    signature,
    signature_differences,
)

if TYPE_CHECKING:
    from .language import Language

logger = logging.getLogger("nlp_core")

# Factories of embedding components that can take pretrained tok2vec weights.
EMBEDDING_FACTORIES = ("tok2vec",)


def load_init_tok2vec(nlp: "Language", path: Union[str, Path]) -> Dict[str, Any]:
    """Load pretrained weights written by `pretrain` (see the module docstring).

    Returns:
        What was loaded (also set as `nlp.meta["init_tok2vec"]`).

    Raises:
        OSError: E366 when the file does not exist.
        ValueError: E525 / E526 for a file that is not a checkpoint or is damaged; E368 /
            E523 / E536 when the target component or layer is missing or ambiguous; E527
            naming the differing settings when the architectures differ; E367 when the
            weights still do not load.
    """
    path = Path(path)
    if not path.is_file():
        raise OSError(Errors.E366.format(path=str(path)))
    checkpoint = read_checkpoint(path)
    component, layer = _target(nlp, path)
    model = component_layer(nlp, component, layer)
    config = Config(nlp.config).interpolate()
    saved = checkpoint.provenance
    diffs = architecture_differences(saved.get("architecture"),
                                     architecture_block(config, component, layer))
    if not diffs:
        diffs = signature_differences(saved.get("signature", []), signature(model))
    if diffs:
        where = f"[components.{component}.model]" + (f" layer {layer!r}" if layer else "")
        raise ValueError(Errors.E527.format(
            path=path, what=f"[components.{saved.get('component')}.model]"
            + (f" layer {saved.get('layer')!r}" if saved.get("layer") else ""),
            target=where, diffs="; ".join(diffs)))
    try:
        model.from_bytes(checkpoint.weights)
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(Errors.E367.format(
            path=str(path), component=component,
            layer=f" (layer {layer!r})" if layer else "", detail=err)) from None
    layers, n_weights = _received(model)
    info = {"path": str(path), "checksum": checkpoint.checksum, "component": component,
            "layer": layer, "objective": saved.get("objective", {}).get("name"),
            "epoch": saved.get("epoch"), "step": saved.get("step"),
            "corpus": saved.get("corpus", {}).get("fingerprint"), "layers": layers,
            "weights": n_weights}
    logger.info("init_tok2vec: loaded %s (%s, epoch %s, step %s) into [components.%s.model]%s:"
                " %s (%s weights)", path, info["objective"], info["epoch"], info["step"],
                component, f" layer {layer!r}" if layer else "", ", ".join(layers), n_weights)
    nlp.meta = {**nlp._meta, "init_tok2vec": info}
    return info


def describe(info: Dict[str, Any]) -> str:
    """One line for a training log about what `load_init_tok2vec` loaded."""
    target = f"[components.{info['component']}.model]" + (
        f" layer {info['layer']!r}" if info["layer"] else "")
    return (f"init_tok2vec: {info['path']} ({info['objective']}, epoch {info['epoch']}, "
            f"step {info['step']}) -> {target}: {', '.join(info['layers'])} "
            f"({info['weights']:,} weights)")


def _target(nlp: "Language", path: Path) -> Tuple[str, str]:
    pretraining = nlp.config.get("pretraining") or {}
    if pretraining:
        component = pretraining.get("component") or "tok2vec"
        if component not in nlp.component_names:
            raise ValueError(Errors.E368.format(component=component,
                                                names=nlp.component_names))
        return component, pretraining.get("layer") or ""
    found = [name for name in nlp.component_names
             if nlp.config["components"][name].get("factory") in EMBEDDING_FACTORIES]
    if len(found) == 1:
        return found[0], ""
    if not found:
        found = [name for name in nlp.component_names
                 if _has_own_tok2vec(nlp.get_pipe(name))]
        if len(found) == 1:
            return found[0], "tok2vec"
    described = (f"several: {found}" if found else
                 f"none among {nlp.component_names}")
    raise ValueError(Errors.E536.format(path=str(path), found=described))


def _has_own_tok2vec(proc: Any) -> bool:
    model = getattr(proc, "model", None)
    if not isinstance(model, Model) or not model.has_ref("tok2vec"):
        return False
    return "listener" not in model.get_ref("tok2vec").name


def component_layer(nlp: "Language", component: str, layer: str) -> Model:
    """The model of `component`, or its ref `layer` when one is named (E523 if absent)."""
    model = nlp.get_pipe(component).model
    if not layer:
        return model
    if not model.has_ref(layer):
        raise ValueError(Errors.E523.format(layer=layer, component=component,
                                            refs=sorted(model.ref_names)))
    return model.get_ref(layer)


def _received(model: Model) -> Tuple[List[str], int]:
    """The layers of `model` that hold parameters, as "name" or "name xN", in walk order,
    and the number of weights."""
    counts: Counter = Counter()
    n_weights = 0
    for node in model.walk():
        params = [name for name in node.param_names if node.has_param(name)]
        if params:
            counts[node.name] += 1
            n_weights += sum(int(node.get_param(name).size) for name in params)
    return [name if n == 1 else f"{name} x{n}" for name, n in counts.items()], n_weights
