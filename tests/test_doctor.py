"""`python -m helpers doctor`: a table, and a plain failure when no engine answers."""

from __future__ import annotations

import pytest
from cli_runner import run_cli


def test_doctor_without_engine_says_so_plainly() -> None:
    done = run_cli("doctor", env={"DOCKER_HOST": "tcp://127.0.0.1:9"})
    assert done.returncode == 1
    assert "No Docker engine answers" in done.stdout
    assert "cannot run real builds" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.engine
def test_doctor_with_engine_lists_every_catalog_base() -> None:
    from helpers import catalog

    done = run_cli("doctor")
    assert done.returncode == 0, done.stdout
    for base in catalog.CATALOG:
        assert f"base {base.ref}" in done.stdout
    assert "buildx" in done.stdout and "platforms" in done.stdout
