"""Two learners on one engine: the same notebook at the same time, no collisions, and
cleanup removes only one learner's things."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import helpers as wb
from helpers.labels import IMAGE_LABEL, OBJECT_LABEL
from helpers.paths import ROOT

pytestmark = pytest.mark.engine
NOTEBOOK = "notebooks/01-images-and-layers.ipynb"


def nbval(learner: str) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        "-m",
        "pytest",
        NOTEBOOK,
        "--nbval",
        "--nbval-current-env",
        "-q",
        "--nbval-sanitize-with",
        "tests/nbval-sanitize.cfg",
        "-p",
        "no:cacheprovider",
    ]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "WORKBOOK_LEARNER": learner},
    )


def test_two_learners_run_one_notebook_at_once_and_clean_up_apart() -> None:
    runs = {name: nbval(name) for name in ("ana-shared", "ben-shared")}
    outputs = {name: run.communicate(timeout=900)[0] for name, run in runs.items()}
    for name, run in runs.items():
        assert run.returncode == 0, f"{name}'s run failed:\n{outputs[name][-3000:]}"
    client = wb.client()
    for name in runs:
        tags = [t for image in wb.images.existing(filters={"label": f"{IMAGE_LABEL}={name}"}) for t in image.tags]
        assert any(t.startswith(f"wb-{name}/hello-python:") for t in tags), tags
    done = subprocess.run(
        [sys.executable, "-m", "helpers", "cleanup"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "WORKBOOK_LEARNER": "ana-shared"},
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert not wb.images.existing(filters={"label": f"{IMAGE_LABEL}=ana-shared"})
    assert wb.images.existing(filters={"label": f"{IMAGE_LABEL}=ben-shared"})
    assert not client.containers.list(all=True, filters={"label": f"{OBJECT_LABEL}=ana-shared"})
    wb.cleanup(who="ben-shared")
    assert not wb.images.existing(filters={"label": f"{IMAGE_LABEL}=ben-shared"})
