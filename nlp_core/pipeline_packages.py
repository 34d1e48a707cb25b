"""Finding an installed pipeline package by name, without running any of its code.

`nlp_core.load(name)` takes the name of an installed package only when the package
declares itself a pipeline, in one of two ways:

- its folder, or one sub-folder of it (spaCy-style packages keep their data in
  `name/name-1.0.0/`), holds config.cfg: that folder is loaded as data, as
  `nlp_core.load(path)` would, and the package's own code is never imported;
- it declares an entry point named `name` in one of `ENTRY_POINT_GROUPS`: the entry point
  is imported and its `load()` called (the package asked for that when it was installed).

The name is looked up with `importlib.util.find_spec`, which for a top-level name only asks
the import system's finders where the module is: nothing is executed. So `mymodel.py` in
the working directory, or the standard library's `json`, is found, recognised as a plain
module and rejected with an error instead of being imported. Dotted names are rejected
before the lookup, because `find_spec("a.b")` imports (runs) the package `a`.
"""
from importlib import util as importlib_util
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable, Optional, Union

from .errors import Errors

ENTRY_POINT_GROUPS = ("nlp_core_pipelines", "spacy_models")
CONFIG_FILE = "config.cfg"


class PipelineNotFoundError(OSError):
    """A name that is no pipeline directory, shipped pipeline or pipeline package (E219)."""


def not_found(name: str, reason: str, shipped: Iterable[str]) -> PipelineNotFoundError:
    return PipelineNotFoundError(Errors.E219.format(
        name=name, reason=reason, shipped=", ".join(shipped) or "none",
        groups=" or ".join(repr(g) for g in ENTRY_POINT_GROUPS)))


def find_pipeline_package(name: str, shipped: Iterable[str] = ()
                          ) -> Union[Path, EntryPoint]:
    """Where the installed pipeline package `name` is, found without importing it.

    Args:
        name: a top-level package name, e.g. "en_core_web_sm".
        shipped: the shipped pipelines' names, listed in the error.

    Returns:
        The package's data directory (holding config.cfg) where it has one, else the entry
        point it declares.

    Raises:
        PipelineNotFoundError: E219, saying why `name` is not a pipeline package.
    """
    if not name.isidentifier():
        raise not_found(name, "there is no such directory, and it is not the name of a "
                        "package (a Python identifier, without dots or slashes)", shipped)
    spec = _find_spec(name)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    data_dir = _data_dir(locations)
    if data_dir is not None:
        return data_dir
    entry = _entry_point(name)
    if entry is not None:
        return entry
    if spec is None:
        reason = "there is no such directory, shipped pipeline or installed package"
    elif not locations:
        reason = (f"it is the module {spec.origin or name}, not a pipeline package; it was "
                  "not imported")
    else:
        reason = (f"the package in {', '.join(locations)} is not a pipeline package: it "
                  f"holds no {CONFIG_FILE} and declares no pipeline entry point; it was not "
                  "imported")
    raise not_found(name, reason, shipped)


def call_entry_point(name: str, entry: EntryPoint, **kwargs: Any) -> Any:
    """Import the entry point a pipeline package declares and call its `load(**kwargs)` (or
    the entry point itself, where it names a function). The caller checks the result."""
    try:
        target = entry.load()
    except Exception as err:  # whatever the package's import raises, name the package
        raise OSError(Errors.E233.format(name=name, entry=entry.value,
                                         reason=f"{type(err).__name__}: {err}")) from err
    loader = getattr(target, "load", None) if isinstance(target, ModuleType) else target
    if not callable(loader):
        raise OSError(Errors.E233.format(name=name, entry=entry.value,
                                         reason="it has no load() function"))
    return loader(**kwargs)


def _find_spec(name: str) -> Optional[Any]:
    try:
        return importlib_util.find_spec(name)
    except (ImportError, ValueError):  # ValueError: a module in sys.modules without a spec
        return None


def _data_dir(locations: Iterable[str]) -> Optional[Path]:
    for location in locations:
        root = Path(location)
        if not root.is_dir():
            continue
        for candidate in [root] + sorted(p for p in root.iterdir() if p.is_dir()):
            if (candidate / CONFIG_FILE).is_file():
                return candidate
    return None


def _entry_point(name: str) -> Optional[EntryPoint]:
    for group in ENTRY_POINT_GROUPS:
        for entry in entry_points(group=group):
            if entry.name == name:
                return entry
    return None
