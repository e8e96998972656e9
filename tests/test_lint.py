"""ruff keeps the Python code clean: helpers, tests, the benchmark, the site build and scripts."""

import subprocess
import sys

from helpers.paths import ROOT

PYTHON_FOLDERS = ["helpers", "tests", "bench", "site", "scripts"]


def test_ruff_is_clean() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", *PYTHON_FOLDERS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout


def test_ruff_format_is_clean() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", *PYTHON_FOLDERS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout
