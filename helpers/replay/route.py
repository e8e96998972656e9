"""Decorators that route a helper through the live/record/replay session.

    @engine_call     needs the engine: replay mode answers it from the recording
    @local_first     works on local files: replay mode runs it for real, and answers from the
                     recording only when its input came from the engine and is not here
In live mode both are a plain call.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from .session import SESSION

F = TypeVar("F", bound=Callable[..., Any])


def routed(function: F, *, local_first: bool, function_id: str | None = None) -> F:
    name = function_id or f"{function.__module__.removeprefix('helpers.')}.{function.__qualname__}"

    @functools.wraps(function)
    def answered(*args: Any, **kwargs: Any) -> Any:
        return SESSION.call(name, function, args, kwargs, local_first=local_first)

    answered.__replay_original__ = function  # type: ignore[attr-defined]
    return answered  # type: ignore[return-value]


def engine_call(function: F) -> F:
    return routed(function, local_first=False)


def local_first(function: F) -> F:
    return routed(function, local_first=True)


def original(function: Callable[..., Any]) -> Callable[..., Any]:
    """The function itself, never a recorded answer."""
    return getattr(function, "__replay_original__", function)
