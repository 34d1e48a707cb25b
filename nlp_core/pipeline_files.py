"""Reading the files of a saved pipeline directory so that a bad file names itself.

`nlp.to_disk` writes JSON (meta.json, cfg.json, vocab/strings.json), msgpack (model.msgpack,
tokenizer), a config (config.cfg) and, for transformers, safetensors. The parsers of these
formats report a cut-off file as e.g. `Unpack failed: incomplete input`, without the file's
name; read them inside `parsing(path)` and the error says which file to replace (E231).
"""
import contextlib
from pathlib import Path
from typing import Any, Iterator, Union

import srsly
from safetensors import safe_open

from .errors import Errors


class UnreadableFileError(ValueError):
    """A file of a saved pipeline that cannot be parsed (E231); the message names it."""


@contextlib.contextmanager
def parsing(path: Union[str, Path]) -> Iterator[None]:
    """Report any failure inside the block as one UnreadableFileError (a ValueError, E231)
    naming `path`.

    OSError passes unchanged: a missing or unreadable file already names itself; so does
    an UnreadableFileError raised for a file read inside the block.
    """
    try:
        yield
    except (OSError, UnreadableFileError):
        raise
    except Exception as err:  # msgpack, JSON, thinc and safetensors each raise their own types
        detail = f"{type(err).__name__}: {err}".strip().rstrip(".")
        raise UnreadableFileError(Errors.E231.format(path=path, detail=detail)) from err


def read_json(path: Union[str, Path], *, expect: type = object) -> Any:
    """The JSON data in `path`; E231 when it does not parse or is no `expect` (e.g. dict)."""
    with parsing(path):
        data = srsly.read_json(path)
    if not isinstance(data, expect):
        raise UnreadableFileError(Errors.E231.format(
            path=path, detail=f"expected a JSON {expect.__name__}, got {type(data).__name__}"))
    return data


def check_safetensors(path: Union[str, Path]) -> None:
    """Check that the safetensors file `path` is whole: its header parses and covers the
    file (reading the header only; the weights are not loaded). E231 when it does not."""
    with parsing(path), safe_open(str(path), framework="np") as weights:
        weights.keys()


def check_hf_model_dir(path: Union[str, Path]) -> None:
    """Check the JSON files (config, tokenizer) and safetensors headers of a saved
    HuggingFace model folder before `from_pretrained` reads them: its errors for a cut-off
    file are of its own types and do not name the file. E231 naming the first bad one."""
    for file in sorted(Path(path).iterdir()) if Path(path).is_dir() else []:
        if file.suffix == ".json":
            read_json(file)
        elif file.suffix == ".safetensors":
            check_safetensors(file)
