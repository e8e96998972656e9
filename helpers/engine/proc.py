"""Running command-line tools (docker buildx, docker save, syft, hadolint, ...): a time limit,
logged commands, and a CommandFailed that shows the command and its last output lines."""

from __future__ import annotations

import logging
import shlex
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from helpers.errors import CommandFailed

log = logging.getLogger("helpers.engine.proc")

TAIL_LINES = 25


@dataclass(frozen=True)
class Completed:
    command: list[str]
    exit_code: int
    output: str


def tail(text: str, lines: int = TAIL_LINES) -> str:
    """The last `lines` lines of `text`."""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def run(
    command: list[str],
    *,
    timeout: float = 600,
    check: bool = True,
    input_bytes: bytes | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    on_line: Callable[[str], None] | None = None,
    what: str = "",
    hint: str = "",
) -> Completed:
    """Run `command` (a list, never a shell string) with a timeout.

    Output (stdout and stderr merged) is returned; with `on_line` each line is
    also handed over as it arrives, so long builds can stream into a notebook.
    A non-zero exit raises CommandFailed carrying the command and output tail.
    """
    log.info("$ %s", shlex.join(command))
    what = what or f"The command `{command[0]} {command[1] if len(command) > 1 else ''}` failed"
    try:
        if on_line is None:
            done = subprocess.run(
                command,
                input=input_bytes,
                capture_output=True,
                timeout=timeout,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                check=False,
            )
            output = (done.stdout + done.stderr).decode(errors="replace")
            code = done.returncode
        else:
            streamed = stream_lines(command, timeout=timeout, on_line=on_line, env=env, cwd=cwd)
            output, code = "\n".join(streamed.lines), streamed.exit_code
            if streamed.timed_out:
                raise subprocess.TimeoutExpired(command, timeout, output=output.encode())
    except subprocess.TimeoutExpired as exc:
        partial = exc.output or b""
        text = partial.decode(errors="replace") if isinstance(partial, bytes) else str(partial)
        raise CommandFailed(
            what + f" (no answer within {timeout:.0f} s)",
            command=command,
            exit_code=None,
            output_tail=tail(text),
            hint=hint or "check that the engine is not overloaded, then run the cell again",
        ) from None
    except FileNotFoundError:
        raise _not_installed(command, hint) from None
    if check and code != 0:
        raise CommandFailed(what, command=command, exit_code=code, output_tail=tail(output), hint=hint)
    return Completed(command=command, exit_code=code, output=output)


MAX_KEPT_LINES = 4000  # lines of streamed output kept; older ones are dropped
MAX_LINE = 4000  # characters kept of one output line


@dataclass(frozen=True)
class Streamed:
    lines: list[str]  # the last MAX_KEPT_LINES lines, each cut at MAX_LINE characters
    exit_code: int
    timed_out: bool


def stream_lines(
    command: list[str],
    *,
    timeout: float,
    on_line: Callable[[str], None],
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> Streamed:
    """Run with stdout and stderr merged, handing each line to `on_line` as it arrives; memory
    stays bounded however long the output. A missing program raises FileNotFoundError."""
    kept: deque[str] = deque(maxlen=MAX_KEPT_LINES)
    timed_out = threading.Event()
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=dict(env) if env is not None else None,
        cwd=cwd,
    ) as process:

        def kill() -> None:
            timed_out.set()
            process.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            assert process.stdout is not None
            for raw in process.stdout:
                line = raw[:MAX_LINE].decode(errors="replace").rstrip("\n")
                kept.append(line)
                on_line(line)
            code = process.wait()
        except BaseException:
            process.kill()
            raise
        finally:
            timer.cancel()
    return Streamed(list(kept), code, timed_out.is_set())


def stream_bytes(command: list[str], *, what: str = "", chunk: int = 1 << 20) -> Iterator[bytes]:
    """Yield a command's stdout in chunks (e.g. `docker save`); a non-zero exit raises
    CommandFailed with its stderr once the stream ends."""
    log.info("$ %s", shlex.join(command))
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        raise _not_installed(command) from None
    assert process.stdout is not None and process.stderr is not None
    try:
        while data := process.stdout.read(chunk):
            yield data
        code = process.wait()
        if code != 0:
            raise CommandFailed(
                what or f"`{shlex.join(command[:3])}` failed",
                command=command,
                exit_code=code,
                output_tail=tail(process.stderr.read().decode(errors="replace")),
            )
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def pipe(first: list[str], second: list[str], *, timeout: float = 600, what: str = "", hint: str = "") -> None:
    """Run `first | second` (both lists, no shell); either failing raises CommandFailed."""
    log.info("$ %s | %s", shlex.join(first), shlex.join(second))
    try:
        producer = subprocess.Popen(first, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        raise _not_installed(first, hint) from None
    assert producer.stdout is not None and producer.stderr is not None
    try:
        try:
            consumer = subprocess.run(second, stdin=producer.stdout, capture_output=True, timeout=timeout, check=False)
        except FileNotFoundError:
            raise _not_installed(second, hint) from None
        except subprocess.TimeoutExpired:
            raise CommandFailed(
                (what or "A pipeline failed") + f" (no answer within {timeout:.0f} s)",
                command=[*first, "|", *second],
                exit_code=None,
                output_tail="",
                hint=hint,
            ) from None
        producer.stdout.close()
        produced = producer.wait(timeout=60)
        for command, code, errors in (
            (first, produced, producer.stderr.read()),
            (second, consumer.returncode, consumer.stderr + consumer.stdout),
        ):
            if code != 0:
                raise CommandFailed(
                    what or f"`{shlex.join(command[:3])}` failed",
                    command=command,
                    exit_code=code,
                    output_tail=tail(errors.decode(errors="replace")),
                    hint=hint,
                )
    finally:
        if producer.poll() is None:
            producer.kill()
            producer.wait()
        producer.stderr.close()


def _not_installed(command: list[str], hint: str = "") -> CommandFailed:
    return CommandFailed(
        f"The program `{command[0]}` is not installed",
        command=command,
        exit_code=127,
        output_tail="",
        hint=hint or "run `make lab` or `make test` once: set-up installs what is missing",
    )
