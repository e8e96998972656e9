"""The helpers find the workbook folder from outside the checkout, or say how to point them at it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import helpers as wb

PROBE = """
import helpers as wb, helpers.paths as paths
print(paths.ROOT, paths.FOUND)
try:
    wb.app_dir("go-app")
except wb.errors.InvalidInput as error:
    print("ERROR", str(error).replace("\\n", " "))
else:
    print("FOUND go-app")
"""


def _installed_copy(tmp_path: Path) -> Path:
    """The package alone, as pip would install it into site-packages: no notebooks/ or apps/ beside it."""
    site = tmp_path / "site-packages"
    shutil.copytree(wb.paths.ROOT / "helpers", site / "helpers", ignore=shutil.ignore_patterns("__pycache__"))
    return site


def _probe(site: Path, cwd: Path, **extra: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "WORKBOOK_ROOT"}
    env.update({"PYTHONPATH": str(site), "DOCKER_HOST": "unix:///nonexistent/docker.sock", **extra})
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.splitlines()


def test_outside_any_workbook_the_helpers_import_and_say_what_to_set(tmp_path: Path) -> None:
    site, elsewhere = _installed_copy(tmp_path), tmp_path / "elsewhere"
    elsewhere.mkdir()
    root, result = _probe(site, elsewhere)
    assert root.endswith("False")
    assert result.startswith("ERROR") and "no workbook folder was found" in result and "WORKBOOK_ROOT" in result


def test_workbook_root_and_the_current_folder_find_the_workbook(tmp_path: Path) -> None:
    site = _installed_copy(tmp_path)
    assert _probe(site, tmp_path, WORKBOOK_ROOT=str(wb.paths.ROOT)) == [f"{wb.paths.ROOT} True", "FOUND go-app"]
    assert _probe(site, wb.paths.ROOT / "notebooks") == [f"{wb.paths.ROOT} True", "FOUND go-app"]


def test_an_app_name_the_system_cannot_look_up_is_one_clear_error() -> None:
    """A name too long for the file system makes stat() fail (not just "no such folder")."""
    try:
        wb.app_dir("x" * 300)
    except wb.errors.InvalidInput as error:
        assert "There is no app folder called 'xxx" in str(error) and "use one of:" in str(error)
    else:
        raise AssertionError("a 300-character app name was accepted")
