"""Live, record or replay: how a notebook's helper calls are answered.

- live (an engine answers): helpers run for real; nothing is recorded.
- record (`python -m helpers record`): helpers run for real and each answer is journaled.
- replay (no engine answers): helpers that need the engine answer from the notebook's
  recording; helpers that need none (lint, context sizes, archive analysis) still run.

A helper takes part by being marked where it is defined:

    @replayable              needs the engine: replay mode answers it from the recording
    @replayable(local=True)  works on local files: replay mode runs it for real, and answers
                             from the recording only when its input came from the engine
In live mode both are a plain call.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, overload

from helpers.errors import EngineUnavailable, NoSuchImage, NotRecorded
from helpers.replay.codec import CodecError, Unstorable, decode, encode
from helpers.replay.proxy import RecordingProxy, ReplayingProxy, path_of, unwrap
from helpers.replay.secrets_filter import redact, secret_argument
from helpers.replay.store import Journal, Recording

LIVE, RECORD, REPLAY = "live", "record", "replay"
MODE_ENV = "WORKBOOK_MODE"
# Failures that mean "this needs the engine (or a file the engine made)": replay instead.
NEEDS_ENGINE = (EngineUnavailable, NoSuchImage, FileNotFoundError, NotADirectoryError)


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
            self.journal.append(function, key, redact({"raise": encode(error), "stdout": encode(tee.copy.getvalue())}))
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
        self.journal.append(function, key, redact(outcome))
        return result

    def _replay(self, function: str, key: str) -> Any:
        assert self.recording is not None
        outcome, exact = self.recording.answer(function, key)
        if not exact:
            print(f"(replayed: {function} was recorded with other arguments; showing that recorded answer)")
        try:
            stdout, error, value = (
                decode(outcome.get("stdout")),
                decode(outcome.get("raise")),
                decode(outcome.get("value")),
            )
        except CodecError as exc:
            raise self.recording.bad(f"its answer to {function} holds {exc}") from None
        if stdout:
            print(stdout, end="")
        if "raise" in outcome:
            if not isinstance(error, BaseException):
                raise self.recording.bad(f"its answer to {function} raises something that is not an error")
            raise error
        if "proxy" in outcome:
            return ReplayingProxy(str(outcome["proxy"]), self)
        if outcome.get("callable"):
            return self.wrap_call(key, None)
        return value


def _has_proxy(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    return any(path_of(v) is not None for v in (*args, *kwargs.values()))


SESSION = Session()
F = TypeVar("F", bound=Callable[..., Any])


@overload
def replayable(function: F, *, local: bool = False) -> F: ...
@overload
def replayable(function: None = None, *, local: bool = False) -> Callable[[F], F]: ...
def replayable(function: Any = None, *, local: bool = False) -> Any:
    """Mark a helper (or a notebook's own function, or a class) whose answers replay mode gives back.

    The call is recorded under `module.qualname` with the module's last name only, so a
    helper keeps its recordings when its package moves.
    """

    def mark(target: F) -> F:
        name = f"{target.__module__.rpartition('.')[2]}.{target.__qualname__}"

        def answered(*args: Any, **kwargs: Any) -> Any:
            return SESSION.call(name, target, args, kwargs, local_first=local)

        functools.update_wrapper(answered, target, updated=())
        return answered  # type: ignore[return-value]

    return mark(function) if function is not None else mark


# -- the key a call is recorded under ---------------------------------------------------
SMALL_FILE = 1 << 20
LONG_KEY = 400


def content_digest(path: Path) -> str:
    """A digest of a file or a folder's files (names, and contents up to 1 MB each; sizes above)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        digest.update(str(file.relative_to(path) if file != path else "").encode())
        size = file.stat().st_size
        digest.update(file.read_bytes() if size <= SMALL_FILE else str(size).encode())
    return digest.hexdigest()[:16]


def _under_workbook(path: Path) -> bool:
    from helpers.paths import ROOT

    try:
        return path.resolve().is_relative_to(ROOT) and path.resolve() != ROOT
    except OSError:
        return False


def _argument(value: Any, name: str = "") -> Any:
    if secret_argument(name):
        return "<secret>"
    proxied = path_of(value)
    if proxied is not None:
        return {"proxy": proxied}
    if isinstance(value, os.PathLike) or (isinstance(value, str) and os.sep in value):
        path = Path(value)
        try:
            # Only the workbook's own folders are keyed by content: never walk "/" or $HOME.
            if _under_workbook(path) and (path.is_dir() or (path.is_file() and path.stat().st_size <= SMALL_FILE)):
                return {"path": encode(str(value)), "content": content_digest(path)}
        except OSError:
            pass
    if isinstance(value, list | tuple):
        return [_argument(v) for v in value]
    if isinstance(value, dict):
        return {encode(str(k)): _argument(v, str(k)) for k, v in value.items()}  # paths as keys: relative too
    try:
        return encode(value)
    except Unstorable:
        return {"object": f"{type(value).__module__}.{type(value).__qualname__}"}


def call_key(function: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    text = json.dumps([_argument(list(args)), _argument(kwargs)], sort_keys=True, default=str)
    text = redact(text)
    if len(text) > LONG_KEY:
        text = text[:200] + "…" + hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"{function}({text})"


def requested_mode() -> str:
    """WORKBOOK_MODE=record|replay|live forces a mode; empty lets the engine decide."""
    return os.environ.get(MODE_ENV, "").strip().lower()


def today() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")


def mode() -> str:
    """live, record or replay."""
    return SESSION.mode


@contextlib.contextmanager
def live_only() -> Iterator[None]:
    """Ask the real engine, whatever the mode (the doctor reports what is here, not what was)."""
    saved = SESSION.mode
    SESSION.mode = LIVE
    try:
        yield
    finally:
        SESSION.mode = saved
