"""`python -m helpers reset NN`: the notebook as the repository has it (the learner's copy kept),
its work folders and the image tags its runs made removed, and nothing of another notebook."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import helpers as wb
from helpers import sessions
from helpers.classroom import record, reset
from helpers.engine import ledger
from helpers.engine.cleanup import remove_notebook_images
from helpers.errors import InvalidInput

LEARNER = f"reset-{os.getpid()}"
STEM = "99-probe"
CODE = 'app = wb.make_app("probe-app", {"Dockerfile": "FROM busybox:1.37"})\nwb.work_copy("hello-python", "probe-copy")'


@pytest.fixture(autouse=True)
def own_learner(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("WORKBOOK_LEARNER", LEARNER)
    yield
    sessions.use_notebook("")
    if wb.engine.available():
        with contextlib.suppress(wb.errors.WorkbookError):
            wb.cleanup(who=LEARNER)
    ledger.path_for(LEARNER).unlink(missing_ok=True)
    ledger.path_for(LEARNER).with_suffix(".lock").unlink(missing_ok=True)


def _notebook(code: str, note: str = "") -> str:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": f"# 99 · Probe {note}"}]
    cells.append({"cell_type": "code", "metadata": {}, "source": code, "outputs": [], "execution_count": None})
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@pytest.fixture
def clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository holding one committed notebook, standing in for the workbook's clone."""
    root = tmp_path / "clone"
    (root / "notebooks").mkdir(parents=True)
    (root / "notebooks" / f"{STEM}.ipynb").write_text(_notebook(CODE))
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], check=True, timeout=60)
    subprocess.run([*git, "add", "."], check=True, timeout=60)
    subprocess.run([*git, "commit", "-qm", "lessons"], check=True, timeout=60)
    for module in (reset, record):
        monkeypatch.setattr(module, "NOTEBOOKS", root / "notebooks")
    monkeypatch.setattr(reset, "ROOT", root)
    monkeypatch.setattr(reset, "STATE", tmp_path / "state")
    return root


def test_the_work_folders_a_notebook_writes_are_found() -> None:
    assert reset.work_folders(_notebook(CODE).encode()) == ["probe-app", "probe-copy"]
    assert reset.work_folders(_notebook('wb.make_app("../escape", {})').encode()) == []


def test_reset_restores_the_notebook_keeps_the_learners_copy_and_removes_its_folders(clone: Path) -> None:
    path = clone / "notebooks" / f"{STEM}.ipynb"
    edited = _notebook(CODE + "\nprint('my own work')", note="edited")
    path.write_text(edited)
    folders = reset.STATE / "work" / LEARNER
    for name in ("probe-app", "probe-copy", "someone-elses"):
        (folders / name).mkdir(parents=True)
    done = reset.reset("99", say=lambda _: None)
    assert path.read_bytes() == reset.committed_notebook(STEM, clone)
    assert done.backup is not None and done.backup.read_text() == edited
    assert sorted(p.name for p in folders.iterdir()) == ["someone-elses"]
    assert done.folders == ["probe-app", "probe-copy"]


def test_reset_outside_a_git_clone_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / f"{STEM}.ipynb").write_text(_notebook(CODE))
    for module in (reset, record):
        monkeypatch.setattr(module, "NOTEBOOKS", tmp_path / "notebooks")
    monkeypatch.setattr(reset, "ROOT", tmp_path)
    with pytest.raises(InvalidInput, match="cannot be read"):
        reset.reset("99", say=lambda _: None)
    assert (tmp_path / "notebooks" / f"{STEM}.ipynb").read_text() == _notebook(CODE)  # nothing lost


def test_a_ledger_entry_with_a_bad_notebook_name_is_refused() -> None:
    path = ledger.path_for(LEARNER)
    path.parent.mkdir(parents=True, exist_ok=True)
    row = {"id": "sha256:" + "a" * 64, "tag": "wb-x/y:1", "notebook": "../../etc"}
    path.write_text(json.dumps({"version": ledger.VERSION, "images": [row]}))
    with pytest.raises(InvalidInput, match="not a notebook name"):
        ledger.entries(LEARNER)


@pytest.mark.engine
def test_only_the_named_notebooks_images_are_removed() -> None:
    made = {}
    for notebook in ("05-build-cache", "06-multi-stage"):
        sessions.use_notebook(notebook)
        dockerfile = f"FROM busybox:1.37\nRUN echo {notebook}-{os.getpid()}\n"
        app = wb.make_app(f"reset-{notebook}", {"Dockerfile": dockerfile})
        made[notebook] = wb.build(app, tag=wb.image_name("reset-probe", notebook[:2]), quiet=True).ref
    assert {e.notebook for e in ledger.entries(LEARNER)} == {"05-build-cache", "06-multi-stage"}
    removed = remove_notebook_images("05-build-cache", who=LEARNER)
    tags = {tag for image in wb.client().api.images() for tag in image.get("RepoTags") or []}  # one call
    assert made["05-build-cache"] not in tags and made["06-multi-stage"] in tags, removed
    assert [e.notebook for e in ledger.entries(LEARNER)] == ["06-multi-stage"]


def test_each_engine_keeps_its_own_ledger(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cleanup on one engine forgets what that engine lacks; another engine's entries stay."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/engine-a.sock")
    ledger.record("sha256:" + "b" * 64, "wb-x/on-a:1", who=LEARNER)
    on_a = ledger.path_for(LEARNER)
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/engine-b.sock")
    try:
        assert ledger.path_for(LEARNER) != on_a and ledger.entries(LEARNER) == []
    finally:
        on_a.unlink(missing_ok=True)
        on_a.with_suffix(".lock").unlink(missing_ok=True)
