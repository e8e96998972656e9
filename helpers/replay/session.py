"""Live, record or replay: how a notebook's helper calls are answered.

- live (an engine answers): helpers run for real; nothing is recorded.
- record (`python -m helpers record`): helpers run for real and each answer is journaled.
- replay (no engine answers): helpers that need the engine answer from the notebook's
  recording; helpers that need none (lint, context sizes, archive analysis) still run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import EngineUnavailable, ImageNotFound, NotRecorded
from .codec import Unstorable, decode, encode
from .keys import call_key
from .proxy import RecordingProxy, ReplayingProxy, path_of, unwrap
from .store import Journal, Recording

LIVE, RECORD, REPLAY = "live", "record", "replay"
MODE_ENV = "WORKBOOK_MODE"
# Failures that mean "this needs the engine (or a file the engine made)": replay instead.
NEEDS_ENGINE = (EngineUnavailable, ImageNotFound, FileNotFoundError, NotADirectoryError)


class _Tee(io.TextIOBase):
    """Prints as usual and keeps a copy, so replay can print the same lines."""

    def __init__(self, stream: Any) -> None:
        self.stream, self.copy = stream, io.StringIO()

    def write(self, text: str) -> int:
        self.copy.write(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


class Session:
    def __init__(self) -> None:
        self.mode = LIVE
        self.notebook = ""
        self.journal: Journal | None = None
        self.recording: Recording | None = None
        self.depth = 0
        self.counts: dict[str, int] = {}

    # -- entering a mode -------------------------------------------------------------
    def record(self, notebook: str, header: dict[str, Any]) -> None:
        self.mode, self.notebook, self.counts = RECORD, notebook, {}
        self.journal = Journal(notebook, header)

    def replay(self, notebook: str) -> Recording:
        self.recording = Recording.load(notebook)
        self.mode, self.notebook = REPLAY, notebook
        return self.recording

    def live(self) -> None:
        self.mode, self.notebook, self.journal, self.recording = LIVE, "", None, None

    # -- answering calls ---------------------------------------------------------------
    def wrap_call(self, function: str, real: Callable[..., Any] | None, local_first: bool = False) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            return self.call(function, real, args, kwargs, local_first=local_first)

        return call

    def call(
        self,
        function: str,
        real: Callable[..., Any] | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        key: str | None = None,
        local_first: bool = False,
    ) -> Any:
        if self.mode == LIVE or (self.mode == RECORD and self.depth):
            assert real is not None
            return real(*args, **kwargs)
        if self.mode == REPLAY and self.depth and not local_first:
            # inside a local_first helper that runs for real: the engine is not here
            raise EngineUnavailable(f"{function} needs the engine", hint="replay mode answers the outer call instead")
        key = key or call_key(function, args, kwargs)
        if self.mode == RECORD:
            assert real is not None
            return self._record(function, key, real, args, kwargs)
        if local_first and real is not None and not _has_proxy(args, kwargs):
            self.depth += 1
            try:
                return real(*args, **kwargs)
            except NEEDS_ENGINE as real_error:
                needs_engine = real_error
            finally:
                self.depth -= 1
            try:
                return self._replay(function, key)
            except NotRecorded:
                raise needs_engine from None
        return self._replay(function, key)

    def note_method(self, member: str) -> None:
        if self.mode == RECORD and not self.depth and self.journal is not None:
            self.journal.append(member, member, {"callable": True})

    def is_method(self, member: str) -> bool:
        outcome = self.recording.kind(member) if self.recording else None
        return bool(outcome and outcome.get("callable"))

    def is_recorded(self, member: str) -> bool:
        return bool(self.recording and self.recording.kind(member))

    def _record(
        self, function: str, key: str, real: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        assert self.journal is not None
        tee = _Tee(sys.stdout)
        self.depth += 1
        try:
            with contextlib.redirect_stdout(tee):
                result = real(*unwrap(args), **unwrap(kwargs))
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException as error:
            self.journal.append(function, key, {"raise": encode(error), "stdout": encode(tee.copy.getvalue())})
            raise
        finally:
            self.depth -= 1
        outcome: dict[str, Any] = {"stdout": encode(tee.copy.getvalue())}
        try:
            outcome["value"] = encode(result)
        except Unstorable:
            number = self.counts.get(key, 0)
            self.counts[key] = number + 1
            outcome["proxy"] = f"{key}#{number}"
            result = RecordingProxy(result, outcome["proxy"], self)
        self.journal.append(function, key, outcome)
        return result

    def _replay(self, function: str, key: str) -> Any:
        assert self.recording is not None
        outcome, exact = self.recording.answer(function, key)
        if not exact:
            print(f"(replayed: {function} was recorded with other arguments; showing that recorded answer)")
        if outcome.get("stdout"):
            print(decode(outcome["stdout"]), end="")
        if "raise" in outcome:
            raise decode(outcome["raise"])
        if "proxy" in outcome:
            return ReplayingProxy(outcome["proxy"], self)
        if outcome.get("callable"):
            return self.wrap_call(key, None)
        return decode(outcome.get("value"))


def _has_proxy(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    return any(path_of(v) is not None for v in (*args, *kwargs.values()))


SESSION = Session()


def requested_mode() -> str:
    """WORKBOOK_MODE=record|replay|live forces a mode; empty lets the engine decide."""
    return os.environ.get(MODE_ENV, "").strip().lower()


def today() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")


@contextlib.contextmanager
def live_only() -> Iterator[None]:
    """Ask the real engine, whatever the mode (the doctor reports what is here, not what was)."""
    saved = SESSION.mode
    SESSION.mode = LIVE
    try:
        yield
    finally:
        SESSION.mode = saved
