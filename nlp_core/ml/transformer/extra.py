"""The transformer component's optional extra, `nlp-core[transformers]`: torch and
transformers.

A CNN-only install has neither: thinc imports torch whenever it is installed, which costs
every worker process about 2 s of start-up whether or not its pipeline has a transformer.
nlp_core imports them only when a transformer model is loaded (`loading.py`,
`encoder.py`); building a TransformerModel (from a config, or by loading a saved pipeline)
checks first that they are installed, so a transformer pipeline without the extra fails
when it is built, with an error naming the extra, rather than halfway through loading.
"""
import importlib.util
from typing import List, Tuple

from ...errors import Errors

EXTRA_MODULES = ("torch", "transformers")


class MissingExtraError(ImportError):
    """A transformer model is built in an environment without torch or transformers (E339)."""


def missing_extra_modules() -> List[Tuple[str, str]]:
    """(module, reason) for each of torch and transformers that cannot be imported here.
    Looks the modules up without importing them (importing transformers takes seconds)."""
    missing = []
    for name in EXTRA_MODULES:
        try:
            if importlib.util.find_spec(name) is None:
                missing.append((name, f"no module named {name!r}"))
        except (ImportError, ValueError) as err:  # a finder refused it; a broken module entry
            missing.append((name, str(err)))
    return missing


def require_extra(model_name: str) -> None:
    """Raise MissingExtraError (E339, naming `model_name` and the extra) unless torch and
    transformers are both installed."""
    missing = missing_extra_modules()
    if missing:
        raise MissingExtraError(Errors.E339.format(
            name=model_name, missing=" and ".join(name for name, _ in missing),
            reason="; ".join(reason for _, reason in missing)))
