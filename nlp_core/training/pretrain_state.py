"""The state of thinc's Optimizer as plain data, so that `pretrain --resume-path` continues
with the same Adam moments, parameter averages and step counts (thinc itself offers only
pickle for this).

thinc keys its per-parameter state by `(model.id, param_name)`, and model ids differ from
one process to the next; here each key is stored as (index of the node in
`model.walk()`, param_name), which is the same for two models built from one config.

Stored: the global step (which drives schedules), the last score, and per parameter the
update count, last-seen step, first and second moments and the running average.
"""
from typing import Any, Dict, List

import numpy
from thinc.api import Model, Optimizer

from ..errors import Errors

STATE_VERSION = 1


def optimizer_state(optimizer: Optimizer, model: Model) -> Dict[str, Any]:
    """The optimizer's state for the parameters of `model` (numpy arrays, msgpack-ready).

    Raises:
        ValueError: E529 for RAdam, whose buffers are not kept here.
    """
    if getattr(optimizer, "use_radam", False):
        raise ValueError(Errors.E529.format(what="with use_radam = true"))
    index = {node.id: i for i, node in enumerate(model.walk())}
    averages = optimizer.averages if optimizer.averages is not None else {}
    keys = set(optimizer.mom1) | set(optimizer.mom2) | set(averages) | set(
        optimizer.nr_update)
    params: List[Dict[str, Any]] = []
    for key in sorted((k for k in keys if k[0] in index), key=lambda k: (index[k[0]], k[1])):
        entry: Dict[str, Any] = {"node": index[key[0]], "param": key[1],
                                 "nr_update": int(optimizer.nr_update.get(key, 0)),
                                 "last_seen": int(optimizer.last_seen.get(key, 0))}
        for name, table in (("mom1", optimizer.mom1), ("mom2", optimizer.mom2),
                            ("average", averages)):
            if key in table:
                entry[name] = _to_numpy(table[key])
        params.append(entry)
    last = optimizer.last_score
    return {"version": STATE_VERSION, "step": int(optimizer.step),
            "last_score": None if last is None else [int(last[0]), float(last[1])],
            "use_averages": optimizer.averages is not None, "params": params}


def restore_optimizer(optimizer: Optimizer, model: Model, state: Dict[str, Any]) -> None:
    """Put `state` (from `optimizer_state` on a model of the same structure) into a fresh
    `optimizer`.

    Raises:
        ValueError: E529 for RAdam; E525-style problems as ValueError naming what is off.
    """
    if getattr(optimizer, "use_radam", False):
        raise ValueError(Errors.E529.format(what="with use_radam = true"))
    if state.get("version") != STATE_VERSION:
        raise ValueError(f"optimizer state version {state.get('version')!r}, expected "
                         f"{STATE_VERSION}")
    nodes = list(model.walk())
    ops = model.ops
    optimizer._step = int(state["step"])
    last = state.get("last_score")
    optimizer._last_score = None if last is None else (int(last[0]), float(last[1]))
    for entry in state["params"]:
        i, name = int(entry["node"]), entry["param"]
        if i >= len(nodes) or not nodes[i].has_param(name):
            raise ValueError(f"optimizer state for layer {i} parameter {name!r}, which the "
                             "model does not have")
        node = nodes[i]
        key = (node.id, name)
        size = node.get_param(name).size
        optimizer.nr_update[key] = int(entry["nr_update"])
        optimizer.last_seen[key] = int(entry["last_seen"])
        for field, table in (("mom1", optimizer.mom1), ("mom2", optimizer.mom2)):
            if field in entry:
                table[key] = ops.asarray(_checked(entry[field], size, node, name))
        if "average" in entry and optimizer.averages is not None:
            avg = _checked(entry["average"], size, node, name)
            optimizer.averages[key] = ops.asarray(avg.reshape(node.get_param(name).shape))


def _to_numpy(array) -> numpy.ndarray:
    get = getattr(array, "get", None)  # cupy -> numpy
    return numpy.ascontiguousarray(get() if callable(get) else array, dtype=numpy.float32)


def _checked(array, size: int, node: Model, name: str) -> numpy.ndarray:
    array = numpy.asarray(array, dtype=numpy.float32)
    if array.size != size:
        raise ValueError(f"optimizer state of {node.name} {name!r} has {array.size} values, "
                         f"the parameter {size}")
    return array.copy()
