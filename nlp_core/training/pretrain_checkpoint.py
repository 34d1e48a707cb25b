"""Pretraining checkpoints (`model{epoch}.bin`, `model-last.bin`): weights that say what
they were made from, written without pickle.

A checkpoint is a msgpack map:

    format    "nlp_core.pretrain_checkpoint"
    version   1
    checksum  "sha256:<hex>" of `body`
    body      msgpack bytes of:
        provenance  component, layer, architecture (the config block of the pretrained
                    layer), signature (every node's dims and parameter shapes), objective
                    (name and settings), epoch, step, words, corpus (fingerprint, files,
                    bytes), seed, nlp_core version, time
        weights     the pretrained layer's parameters (thinc `to_bytes`, msgpack),
                    averaged when the optimizer keeps averages: what init_tok2vec loads
        resume      (optional) what `--resume-path` needs: the raw (not averaged) weights of
                    the layer and of the objective's output layer, the optimizer state
                    (see `pretrain_state`) and the position (epoch, batch, step, words)

Reading verifies the checksum before anything else is used.
"""
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import srsly
from thinc.api import Model

from ..errors import Errors

FORMAT = "nlp_core.pretrain_checkpoint"
VERSION = 1


@dataclass
class Checkpoint:
    """A read checkpoint.

    Attributes:
        path: where it was read from.
        checksum: "sha256:<hex>" of its body.
        provenance: see the module docstring.
        weights: thinc bytes of the pretrained layer.
        resume: the training state, or None.
    """

    path: Path
    checksum: str
    provenance: Dict[str, Any]
    weights: bytes
    resume: Optional[Dict[str, Any]]


def write_checkpoint(path: Union[str, Path], provenance: Dict[str, Any], weights: bytes,
                     resume: Optional[Dict[str, Any]] = None) -> str:
    """Write a checkpoint atomically (a temporary file beside it, then a rename).

    Returns:
        Its checksum.
    """
    path = Path(path)
    body = srsly.msgpack_dumps({"provenance": provenance, "weights": weights,
                                "resume": resume})
    checksum = "sha256:" + hashlib.sha256(body).hexdigest()
    data = srsly.msgpack_dumps({"format": FORMAT, "version": VERSION, "checksum": checksum,
                                "body": body})
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return checksum


def read_checkpoint(path: Union[str, Path]) -> Checkpoint:
    """Read and verify a checkpoint.

    Raises:
        ValueError: E525 for a file that is not a checkpoint (e.g. spaCy's raw weights or
            another file), E526 when the checksum does not match.
    """
    path = Path(path)
    try:
        outer = srsly.msgpack_loads(path.read_bytes())
    except Exception as err:  # msgpack raises several types for arbitrary bytes
        raise ValueError(Errors.E525.format(path=path, reason=f"not msgpack: {err}")) from None
    if not isinstance(outer, dict) or outer.get("format") != FORMAT:
        found = outer.get("format") if isinstance(outer, dict) else type(outer).__name__
        raise ValueError(Errors.E525.format(
            path=path, reason=f"format {found!r}; spaCy's pretrain output and other thinc "
            "weight files carry no provenance"))
    if outer.get("version") != VERSION:
        raise ValueError(Errors.E525.format(
            path=path, reason=f"version {outer.get('version')!r}, this nlp_core reads "
            f"version {VERSION}"))
    body = outer.get("body")
    if not isinstance(body, bytes):
        raise ValueError(Errors.E525.format(path=path, reason="no body"))
    computed = "sha256:" + hashlib.sha256(body).hexdigest()
    if computed != outer.get("checksum"):
        raise ValueError(Errors.E526.format(path=path, computed=computed,
                                            stored=outer.get("checksum")))
    inner = srsly.msgpack_loads(body)
    return Checkpoint(path, computed, inner["provenance"], inner["weights"], inner["resume"])


def architecture_block(config: Dict[str, Any], component: str, layer: str) -> Any:
    """The config block of the pretrained layer: [components.NAME.model], or its `layer`
    sub-block when the ref has one of the same name (None when it has not)."""
    block = config.get("components", {}).get(component, {}).get("model")
    if layer:
        block = block.get(layer) if isinstance(block, dict) else None
    return block


def signature(model: Model) -> List[List[Any]]:
    """The structure of `model`: for each node in walk order, its name, dims and the shapes
    of its parameters. Two models whose signatures are equal can exchange weights."""
    out = []
    for node in model.walk():
        dims = {name: node.maybe_get_dim(name) for name in node.dim_names}
        shapes = {name: list(node.get_param(name).shape) for name in node.param_names
                  if node.has_param(name)}
        out.append([node.name, dims, shapes])
    return out


def architecture_differences(saved: Any, current: Any, prefix: str = "") -> List[str]:
    """The settings that differ between two config blocks, as "key saved != current"
    (e.g. "encode.width 96 != 128"); nested blocks are compared key by key."""
    if isinstance(saved, dict) and isinstance(current, dict):
        diffs = []
        for key in sorted(set(saved) | set(current), key=str):
            where = f"{prefix}.{key}" if prefix else str(key)
            if key not in saved:
                diffs.append(f"{where} absent != {current[key]!r}")
            elif key not in current:
                diffs.append(f"{where} {saved[key]!r} != absent")
            else:
                diffs.extend(architecture_differences(saved[key], current[key], where))
        return diffs
    if _normal(saved) != _normal(current):
        return [f"{prefix or 'architecture'} {saved!r} != {current!r}"]
    return []


def signature_differences(saved: List[List[Any]], current: List[List[Any]]) -> List[str]:
    """Where two signatures differ: node count, then the first nodes whose dims or
    parameter shapes differ (at most five)."""
    diffs = []
    if len(saved) != len(current):
        diffs.append(f"number of layers {len(saved)} != {len(current)}")
    for i, (a, b) in enumerate(zip(saved, current)):
        if a[0] != b[0]:
            diffs.append(f"layer {i} {a[0]} != {b[0]}")
            break
        for what, x, y in (("", a[1], b[1]), ("shape of ", a[2], b[2])):
            for key in sorted(set(x) | set(y)):
                if _normal(x.get(key)) != _normal(y.get(key)):
                    diffs.append(f"layer {i} ({a[0]}) {what}{key} "
                                 f"{_show(x.get(key))} != {_show(y.get(key))}")
        if len(diffs) >= 5:
            break
    return diffs


def _normal(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_normal(v) for v in value]
    return value


def _show(value: Any) -> str:
    """A dim, or a shape as "96x128"."""
    if isinstance(value, (list, tuple)):
        return "x".join(str(v) for v in value)
    return str(value)
