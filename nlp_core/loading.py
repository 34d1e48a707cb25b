"""Making a pipeline: `nlp_core.blank(lang)` and `nlp_core.load(name)`.

`load` reads data only: no code from a name or a directory is run, except the `load()` of
an installed package that declares a pipeline entry point (see `pipeline_packages`).
"""
from pathlib import Path
from typing import Any, Dict, Iterable, List, Union

from confection import Config

from .errors import Errors
from .language import Language
from .language_disk import load_from_directory
from .pipeline_packages import call_entry_point, find_pipeline_package
from .registry import registry
from .vocab import Vocab

SHIPPED_PIPELINES = Path(__file__).parent / "models"


def shipped_pipelines() -> List[str]:
    """Names of the trained pipelines that ship inside the package (`load(name)` works
    offline for each)."""
    if not SHIPPED_PIPELINES.is_dir():
        return []
    return sorted(p.name for p in SHIPPED_PIPELINES.iterdir() if (p / "config.cfg").is_file())


def blank(lang: str, *, config: Dict[str, Any] | None = None,
          vocab: Vocab | None = None, meta: Dict[str, Any] | None = None) -> Language:
    """An empty pipeline (tokenizer only) for `lang` ("en", or "xx" for any language);
    `config` overrides parts of the default config, e.g. `{"nlp": {"batch_size": 64}}`."""
    base = Config({"nlp": {"lang": lang, "pipeline": []}})
    if config:
        base = base.merge(Config(config))
    return Language.from_config(base, vocab=vocab, meta=meta)


def load(name: Union[str, Path], *, disable: Iterable[str] = (),
         enable: Iterable[str] | None = None, exclude: Iterable[str] = (),
         config: Dict[str, Any] | None = None) -> Language:
    """Load a pipeline saved with `nlp.to_disk`. Loading reads data only: no code from a
    name or a directory is run, except the `load()` of a package that declares a pipeline
    entry point (see `nlp_core.pipeline_packages`).

    Args:
        name: a directory holding config.cfg; the name of a pipeline shipped inside this
            package (`shipped_pipelines()`, e.g. "en_ewt_sm"); or the name of an installed
            pipeline package: one whose folder (or one sub-folder of it, as in spaCy-style
            packages `name/name-1.0.0/`) holds config.cfg, or that declares an entry point
            in a group of `pipeline_packages.ENTRY_POINT_GROUPS`.
        disable / enable / exclude: as in `Language.from_config`.
        config: dotted-key overrides of the saved config, e.g. {"nlp.batch_size": 64}.

    Raises:
        OSError: E219 for a name that is none of these (a plain module such as "json" is
            not imported), E220 for a directory without config.cfg.
        ValueError: E231 naming a file of the directory that cannot be parsed (cut off or
            corrupt); E232 when a package's `load()` returns no Language.
    """
    path = Path(name)
    if not path.exists() and isinstance(name, str) and name in shipped_pipelines():
        path = SHIPPED_PIPELINES / name
    elif not path.exists() and isinstance(name, str):
        found = find_pipeline_package(name, shipped_pipelines())
        if isinstance(found, Path):
            path = found
        else:
            options = {"disable": disable, "enable": enable, "exclude": exclude,
                       "config": config}
            nlp = call_entry_point(name, found, **{k: v for k, v in options.items() if v})
            if not isinstance(nlp, Language):
                raise ValueError(Errors.E232.format(name=name, what=f"{found.value}.load()",
                                                    type=type(nlp).__name__))
            return nlp
    return load_from_directory(Language, path, disable=disable, enable=enable,
                               exclude=exclude, config=config)


# `[initialize] vectors = NAME` (language_training.load_vectors) loads a shipped or
# installed pipeline through this entry: the training layer sits below this module.
registry.misc.register("nlp_core.load_pipeline.v1", func=load)
