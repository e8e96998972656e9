"""`python -m helpers ...` run the way a learner runs it: a fresh interpreter in the workbook
folder, output captured, a time limit. Tests import it as `from cli_runner import run_cli`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from helpers.paths import ROOT


def run_cli(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 120, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """Run `python -m helpers ARGS` with the environment plus `env`; never raises on a failing exit code."""
    return subprocess.run(
        [sys.executable, "-m", "helpers", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
