"""Objects with no data form (a docker client, a running container, a context manager).

Recording, such an object sits behind a RecordingProxy that passes every attribute, call,
`with`, iteration and comparison through to it and records each answer under the object's
path. Replaying, a ReplayingProxy with the same path gives those answers back.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from helpers.errors import NotRecorded

if TYPE_CHECKING:
    from helpers.replay.session import Session

# Special methods Python looks up on the type, so they are spelled out here.
_SPECIAL = ("__enter__", "__exit__", "__iter__", "__next__", "__len__", "__bool__", "__getitem__", "__contains__")


def path_of(value: Any) -> str | None:
    """The recorded path of a proxy, None for any other value."""
    return object.__getattribute__(value, "_path") if isinstance(value, _Proxy) else None


def unwrap(value: Any) -> Any:
    """The live object behind a recording proxy (arguments are passed on unwrapped)."""
    if isinstance(value, RecordingProxy):
        return object.__getattribute__(value, "_target")
    if isinstance(value, list | tuple):
        return type(value)(unwrap(v) for v in value)
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    return value


class _Proxy:
    _path: str
    _session: Session

    def __init__(self, path: str, session: Session) -> None:
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_session", session)

    def _special(self, name: str, *args: Any) -> Any:
        raise NotImplementedError

    def __repr__(self) -> str:
        try:
            return str(self._special("__repr__"))
        except NotRecorded:
            return f"<recorded {self._path}>"

    def __str__(self) -> str:
        return str(self._special("__str__"))

    def __enter__(self) -> Any:
        return self._special("__enter__")

    def __exit__(self, *exc: Any) -> Any:
        return self._special("__exit__", *exc)

    def __iter__(self) -> Any:
        return self._special("__iter__")

    def __next__(self) -> Any:
        return self._special("__next__")

    def __len__(self) -> int:
        return int(self._special("__len__"))

    def __bool__(self) -> bool:
        return bool(self._special("__bool__"))

    def __getitem__(self, key: Any) -> Any:
        return self._special("__getitem__", key)

    def __contains__(self, item: Any) -> bool:
        return bool(self._special("__contains__", item))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{name}: recorded objects are read-only")


class RecordingProxy(_Proxy):
    _target: Any

    def __init__(self, target: Any, path: str, session: Session) -> None:
        super().__init__(path, session)
        object.__setattr__(self, "_target", target)

    def __getattr__(self, name: str) -> Any:
        target, path, session = self._target, self._path, self._session
        member = f"{path}.{name}"
        value = getattr(target, name)
        if inspect.isroutine(value):
            session.note_method(member)
            return session.wrap_call(member, value)
        return session.call(member, lambda: getattr(target, name), (), {}, key=member)

    def _special(self, name: str, *args: Any) -> Any:
        target = self._target
        method: Callable[..., Any] = {
            "__repr__": lambda: repr(target),
            "__str__": lambda: str(target),
            "__iter__": lambda: iter(target),
            "__next__": lambda: next(target),
            "__len__": lambda: len(target),
            "__bool__": lambda: bool(target),
        }.get(name) or getattr(type(target), name).__get__(target)
        return self._session.call(f"{self._path}.{name}", method, args, {})


class ReplayingProxy(_Proxy):
    def __getattr__(self, name: str) -> Any:
        session, member = self._session, f"{self._path}.{name}"
        if name.startswith("_") and not session.is_recorded(member):
            raise AttributeError(name)  # probes such as IPython's _repr_html_
        if session.is_method(member):
            return session.wrap_call(member, None)
        return session.call(member, None, (), {}, key=member)

    def _special(self, name: str, *args: Any) -> Any:
        return self._session.call(f"{self._path}.{name}", None, args, {})
