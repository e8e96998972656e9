"""The GitHub workflow (.github/workflows/): actionlint clean, actions pinned by commit, and the
jobs the README promises: `make test` on both image stores and both CPU architectures, and the
replay suite with no engine. It cannot run on this machine; GitHub runs it on a push."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
PINNED_USE = re.compile(r"^\s*-?\s*uses:\s*[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def _actionlint() -> str:
    found = Path(sys.executable).parent / "actionlint"
    if found.is_file():
        return str(found)
    on_path = shutil.which("actionlint")
    if on_path is None:
        pytest.fail("actionlint is missing: `make setup` installs it from requirements.txt")
    return on_path


def _lint(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_actionlint(), "-no-color", *map(str, paths)], capture_output=True, text=True, timeout=120, cwd=ROOT
    )


def test_there_is_a_workflow() -> None:
    assert WORKFLOWS, "no workflow in .github/workflows/"


def test_workflows_are_actionlint_clean() -> None:
    done = _lint(*WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_reports_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ matrix.nope }}\n"
    )
    done = _lint(broken)
    assert done.returncode != 0 and "matrix" in done.stdout, done.stdout


def test_every_action_is_pinned_to_a_commit() -> None:
    for path in WORKFLOWS:
        uses = [line for line in path.read_text().splitlines() if re.match(r"^\s*-?\s*uses:", line)]
        assert uses, f"{path.name} uses no action"
        loose = [line.strip() for line in uses if not PINNED_USE.match(line)]
        assert not loose, f"{path.name}: pin these to a full commit with a '# vX.Y.Z' comment: {loose}"


def test_the_workflow_covers_both_stores_both_architectures_and_replay() -> None:
    text = "\n".join(path.read_text() for path in WORKFLOWS)
    assert re.search(r"runner: \[ubuntu-24\.04, ubuntu-24\.04-arm\]", text)
    assert re.search(r"store: \[containerd, classic\]", text)
    assert re.search(r"^\s*run: make test$", text, re.MULTILINE)
    assert re.search(r"^\s*run: make test-replay$", text, re.MULTILINE)
    make = (ROOT / "Makefile").read_text()
    assert re.search(r"^test-replay:", make, re.MULTILINE)
