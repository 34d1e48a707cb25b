"""Importing user code (`--code functions.py` of the CLI) so that the functions it registers
can be named in configs.
"""
import hashlib
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Union

from .errors import Errors


def import_code(path: Union[str, Path, None]) -> ModuleType | None:
    """Import a Python file so that the functions it registers can be used in configs.

    The file becomes the module `user_code_module_name(path)`, a private name no installed
    module has: a user's `json.py` registers its functions without replacing the standard
    library's `json` in `sys.modules` for everyone else.

    Returns:
        The imported module (None when `path` is None).
    """
    if path is None:
        return None
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(Errors.E227.format(path=path))
    name = user_code_module_name(path)
    spec = importlib.util.spec_from_file_location(name, str(path))
    if spec is None or spec.loader is None:
        raise ValueError(Errors.E412.format(path=path, reason="Python cannot import this "
                                            "file; give a .py file"))
    module = importlib.util.module_from_spec(spec)
    # Registered before running, as the import system does, so that the file's own
    # dataclasses and type hints can look the module up while it runs.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def user_code_module_name(path: Union[str, Path]) -> str:
    """The module name `import_code` gives the file `path`: `nlp_core_user_code_`, a hash of
    its resolved path and its stem (made an identifier), so that one file always gets the
    same name and two files never share one."""
    path = Path(path).resolve()
    digest = hashlib.sha1(str(path).encode("utf8")).hexdigest()[:12]
    stem = re.sub(r"\W", "_", path.stem)
    return f"nlp_core_user_code_{digest}_{stem}"
