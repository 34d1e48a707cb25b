"""Extension attributes: `Doc.set_extension("name", default=...)` then `doc._.name`.

Values live in `doc.user_data` under the key ("._.", name, start_char, end_char) — the same
keys spaCy uses, so user data round-trips through DocBin files of either library.
"""
import functools
from typing import Any, Callable, Dict, Tuple

from ..errors import Errors

NOT_SET = object()

Extension = Tuple[Any, Callable | None, Callable | None, Callable | None]


class Underscore:
    """The `._` namespace of one Doc, Span or Token."""

    doc_extensions: Dict[str, Extension] = {}
    span_extensions: Dict[str, Extension] = {}
    token_extensions: Dict[str, Extension] = {}

    def __init__(self, extensions: Dict[str, Extension], obj, start: int | None = None,
                 end: int | None = None):
        object.__setattr__(self, "_extensions", extensions)
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_doc", obj.doc)
        object.__setattr__(self, "_start", start)
        object.__setattr__(self, "_end", end)

    def __dir__(self):
        return list(self._extensions)

    def _key(self, name: str) -> tuple:
        return ("._.", name, self._start, self._end)

    def __getattr__(self, name: str) -> Any:
        extensions = object.__getattribute__(self, "_extensions")
        if name not in extensions:
            raise AttributeError(Errors.E014.format(obj=type(self._obj).__name__, name=name))
        default, method, getter, _setter = extensions[name]
        if getter is not None:
            return getter(self._obj)
        if method is not None:
            return functools.partial(method, self._obj)
        key = self._key(name)
        user_data = self._doc.user_data
        if key not in user_data and isinstance(default, (list, dict, set)):
            # a mutable default is copied per object, so appending to it never leaks across docs
            user_data[key] = type(default)(default)
        return user_data.get(key, default)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._extensions:
            raise AttributeError(Errors.E014.format(obj=type(self._obj).__name__, name=name))
        _default, _method, getter, setter = self._extensions[name]
        if setter is not None:
            setter(self._obj, value)
        elif getter is not None:
            raise AttributeError(Errors.E015.format(name=name))
        else:
            self._doc.user_data[self._key(name)] = value

    def set(self, name: str, value: Any) -> None:
        setattr(self, name, value)

    def get(self, name: str) -> Any:
        return getattr(self, name)

    def has(self, name: str) -> bool:
        return name in self._extensions


def make_extension_api(registry_name: str):
    """Class methods set/get/has/remove_extension bound to one of the registries above."""

    def set_extension(cls, name: str, default: Any = NOT_SET, method: Callable | None = None,
                      getter: Callable | None = None, setter: Callable | None = None,
                      force: bool = False) -> None:
        extensions = getattr(Underscore, registry_name)
        if name in extensions and not force:
            raise ValueError(Errors.E012.format(name=name, obj=cls.__name__))
        n_given = sum(x is not None for x in (method, getter)) + (default is not NOT_SET)
        if n_given != 1 or (setter is not None and getter is None):
            raise ValueError(Errors.E013.format(name=name))
        extensions[name] = (None if default is NOT_SET else default, method, getter, setter)

    def get_extension(cls, name: str) -> Extension | None:
        return getattr(Underscore, registry_name).get(name)

    def has_extension(cls, name: str) -> bool:
        return name in getattr(Underscore, registry_name)

    def remove_extension(cls, name: str) -> Extension:
        extensions = getattr(Underscore, registry_name)
        if name not in extensions:
            raise ValueError(Errors.E014.format(obj=cls.__name__, name=name))
        return extensions.pop(name)

    return (classmethod(set_extension), classmethod(get_extension),
            classmethod(has_extension), classmethod(remove_extension))
