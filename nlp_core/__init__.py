"""nlp_core: batch NLP pipelines compatible with spaCy's config and data formats.

`nlp_core.blank(lang)` and `nlp_core.load(path_or_package)` give a `Language`; they are
imported on first use so that `import nlp_core.tokens` stays light.
"""
import importlib
from typing import Any

__version__ = "0.1.0"

# Attribute -> submodule defining it. (The registry is `nlp_core.registry.registry`: a
# lazy `nlp_core.registry` attribute would be shadowed by the submodule of that name.)
_LAZY = {"blank": "loading", "load": "loading", "shipped_pipelines": "loading",
         "Language": "language", "read_tensors": "tensors_io",
         "set_parse_threads": "ml.parse_threads"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["__version__", "blank", "load", "shipped_pipelines", "Language",
           "set_parse_threads"]
