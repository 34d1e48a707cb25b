"""A pipeline on disk: `nlp.to_disk(path)`, `nlp.from_disk(path)`, its meta.json, and
rebuilding a pipeline from a saved directory.

A saved pipeline is a directory of data, never of pickles:

    config.cfg      the full config (`nlp.config`), which rebuilds every component
    meta.json       name, version, pipeline facts (`nlp.meta`)
    vocab/          strings, lexeme attributes, vectors
    tokenizer       the tokenizer's rules and exceptions
    NAME/           one folder per component that has `to_disk`

Loading builds the pipeline from config.cfg first, then reads each part's data into it;
every file that does not parse names itself (E231, see `pipeline_files`).
"""
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterable, Tuple, Type, Union

import srsly
from confection import Config

from . import __version__
from .config import load_config_from_str
from .errors import Errors
from .pipeline_files import UnreadableFileError, parsing, read_json

if TYPE_CHECKING:
    from .language import Language


def pipeline_meta(nlp: "Language", user_meta: Dict[str, Any]) -> Dict[str, Any]:
    """meta.json of `nlp`: defaults, then `user_meta`, then what the pipeline itself
    reports (nlp_core version, pipeline, components, disabled)."""
    meta = {"lang": nlp.lang, "name": "pipeline", "version": "0.0.0", "description": "",
            "author": "", "email": "", "url": "", "license": ""}
    meta.update(user_meta)
    meta.update({"nlp_core_version": __version__, "pipeline": nlp.pipe_names,
                 "components": nlp.component_names, "disabled": nlp.disabled,
                 "vectors": vectors_meta(nlp.vocab.vectors)})
    return meta


def vectors_meta(vectors) -> Dict[str, Any]:
    """meta.json's "vectors" block, as spaCy writes it: width, rows, keys, name, mode."""
    shape = tuple(getattr(vectors, "shape", (0, 0)))
    width = int(shape[1]) if len(shape) == 2 else 0
    return {"width": width, "vectors": int(shape[0]) if width else 0,
            "keys": int(getattr(vectors, "n_keys", 0)), "name": getattr(vectors, "name", None),
            "mode": getattr(vectors, "mode", "default")}


def to_disk(nlp: "Language", path: Union[str, Path], *, exclude: Iterable[str] = ()) -> None:
    """Write config.cfg, meta.json, vocab/, tokenizer and one folder per component that
    has `to_disk` (skipping names in `exclude`)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    exclude = set(exclude)
    nlp.config.to_disk(path / "config.cfg", interpolate=False)
    srsly.write_json(path / "meta.json", nlp.meta)
    if "vocab" not in exclude:
        nlp.vocab.to_disk(path / "vocab")
    if "tokenizer" not in exclude and hasattr(nlp.tokenizer, "to_disk"):
        nlp.tokenizer.to_disk(path / "tokenizer")
    for name, proc in nlp.components:
        if name not in exclude and hasattr(proc, "to_disk"):
            proc.to_disk(path / name)


def from_disk(nlp: "Language", path: Union[str, Path], *, exclude: Iterable[str] = ()
              ) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """Read the data `to_disk` wrote into the (already built) pipeline `nlp`: vocab,
    tokenizer and each component's folder.

    Returns:
        The fields of meta.json (empty when there is none), and name -> component for each
        component whose `from_disk` returned an object (it takes the old one's place).
    """
    path = Path(path)
    exclude = set(exclude)
    meta = read_json(path / "meta.json", expect=dict) if (path / "meta.json").exists() else {}
    if "vocab" not in exclude and (path / "vocab").exists():
        nlp.vocab.from_disk(path / "vocab")
    if ("tokenizer" not in exclude and (path / "tokenizer").exists()
            and hasattr(nlp.tokenizer, "from_disk")):
        nlp.tokenizer.from_disk(path / "tokenizer")
    loaded = {}
    for name, proc in nlp.components:
        if name not in exclude and (path / name).exists() and hasattr(proc, "from_disk"):
            result = proc.from_disk(path / name)
            if result is not None:
                loaded[name] = result
    return meta, loaded


def read_saved_config(path: Path, overrides: Dict[str, Any]) -> Config:
    """The config.cfg of a saved pipeline; E231 naming it when it is not text or has lost
    the blocks every saved pipeline has (as a file cut short does)."""
    with parsing(path):
        text = path.read_text(encoding="utf8")
    saved = load_config_from_str(text, overrides, source=str(path))
    nlp_block = saved.get("nlp")
    if not isinstance(nlp_block, dict) or "lang" not in nlp_block:
        raise UnreadableFileError(Errors.E231.format(path=path, detail="it has no [nlp] "
                                                     "block with a lang"))
    components = saved.get("components", {})
    for name in nlp_block.get("pipeline", []):
        if name not in components:
            raise UnreadableFileError(Errors.E231.format(
                path=path, detail=f"[nlp] pipeline names {name!r} but there is no "
                f"[components.{name}] block"))
    return saved


def load_from_directory(lang_cls: Type["Language"], path: Union[str, Path], *,
                        disable: Iterable[str] = (), enable: Iterable[str] | None = None,
                        exclude: Iterable[str] = (),
                        config: Dict[str, Any] | None = None) -> "Language":
    """Rebuild the pipeline saved in the directory `path` with `lang_cls.from_config`, then
    read its data.

    Args:
        lang_cls: `Language` (or a subclass).
        path: a directory `to_disk` wrote.
        disable / enable / exclude: as in `Language.from_config`.
        config: dotted-key overrides of the saved config, e.g. {"nlp.batch_size": 64}.

    Raises:
        OSError: E220 when the directory has no config.cfg.
        ValueError: E231 naming a file that cannot be parsed; E234 naming config.cfg when
            it does not build.
    """
    path = Path(path)
    if not (path / "config.cfg").is_file():
        raise OSError(Errors.E220.format(path=path))
    saved = read_saved_config(path / "config.cfg", dict(config or {}))
    meta = read_json(path / "meta.json", expect=dict) if (path / "meta.json").exists() else {}
    try:
        nlp = lang_cls.from_config(saved, disable=disable, enable=enable, exclude=exclude,
                                   meta=meta)
    except ValueError as err:
        raise ValueError(Errors.E234.format(path=path / "config.cfg", detail=err)) from err
    return nlp.from_disk(path, exclude=exclude)
