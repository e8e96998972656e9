"""Runs one fuzz target of fuzz_targets.py in a child process with a memory limit (RLIMIT_AS) and a time limit, so
that a hang or a memory blow-up fails the test instead of taking the machine with it."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

TARGETS = Path(__file__).with_name("fuzz_targets.py")
ROOT = Path(__file__).resolve().parents[2]
MEMORY_LIMIT = 1 << 30  # address space of the child, bytes
TIME_LIMIT = 120  # seconds for one target, its imports included


@dataclass
class FuzzRun:
    target: str
    inputs: dict[str, int]  # kind of hostile input -> examples tried
    errors: dict[str, int]  # kind of workbook error met -> count


class FuzzFailure(AssertionError):
    pass


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run(target: str, examples: int, time_limit: float = TIME_LIMIT) -> FuzzRun:
    """Fuzz `target` with `examples` inputs in a child; FuzzFailure with the child's report if it fails, runs out of
    time or of memory."""
    with tempfile.TemporaryDirectory(prefix="workbook-fuzz-") as work:
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONHASHSEED": "0", "TMPDIR": work}
        env["HYPOTHESIS_STORAGE_DIRECTORY"] = str(Path(work) / "hypothesis")  # its caches, outside the tree
        return _run(target, examples, time_limit, env)


def _run(target: str, examples: int, time_limit: float, env: dict[str, str]) -> FuzzRun:
    try:
        done = subprocess.run(
            [sys.executable, str(TARGETS), target, str(examples)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=time_limit,
            preexec_fn=_limit_memory,
        )
    except subprocess.TimeoutExpired as expired:
        output = (expired.stderr or b"")[-4000:]
        raise FuzzFailure(f"fuzzing {target} ran past {time_limit} s (a hang?)\n{output!r}") from None
    if done.returncode != 0:
        raise FuzzFailure(f"fuzzing {target} failed (exit code {done.returncode}):\n{done.stderr[-6000:]}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return FuzzRun(summary["target"], summary["inputs"], summary["errors"])
