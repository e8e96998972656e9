"""Bases on demand: every notebook declares the base images it builds FROM or runs, and
`wb.start()` prepares those (silently when they are present)."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

import helpers as wb
from helpers.bases import ondemand
from helpers.catalog import CATALOG, normalize
from helpers.errors import InvalidInput
from helpers.paths import APPS, NOTEBOOKS

PATHS = sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
APP_NAMES = {p.name for p in APPS.iterdir() if p.is_dir()}
CATALOG_CONSTANT = re.compile(r"\bwb\.catalog\.([A-Z_]+)\b")
# Helpers that run a base image of their own.
IMPLIED = {"wb.registry.LocalRegistry": wb.catalog.REGISTRY}
STRING = re.compile(r"[\"']([a-z0-9-]+)[\"']")
RECORDED_USE = re.compile(
    r"load metadata for ([\w./:-]+)|(?:run\.run|run\.run_once|images\.get)\(\[\[\\?\"([^\"\\]+)\\?\""
)


def _catalog_refs_in(text: str) -> set[str]:
    refs = {base.ref for base in CATALOG if base.ref in text or normalize(base.ref) in text}
    every = {base.ref for base in CATALOG}
    named = (getattr(wb.catalog, name, None) for name in CATALOG_CONSTANT.findall(text))
    refs |= {value for value in named if isinstance(value, str)} & every
    return refs


def used_statically(path: Path) -> set[str]:
    """Catalog bases a notebook's code names: in its own Dockerfiles and calls, and in the
    Dockerfiles of the apps it names."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    code = "\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")
    used = _catalog_refs_in(code) | {ref for call, ref in IMPLIED.items() if call in code}
    for app in set(STRING.findall(code)) & APP_NAMES:
        for dockerfile in (APPS / app).rglob("Dockerfile*"):
            used |= _catalog_refs_in(dockerfile.read_text(encoding="utf-8"))
    return used


def used_in_recording(path: Path) -> set[str]:
    """Catalog bases the recorded real run built FROM (BuildKit's 'load metadata for') or ran."""
    recording = NOTEBOOKS / "recordings" / f"{path.stem}.json.gz"
    if not recording.is_file():
        return set()
    text = gzip.decompress(recording.read_bytes()).decode("utf-8")
    named = {m.group(1) or m.group(2) for m in RECORDED_USE.finditer(text)}
    return {base.ref for base in CATALOG for ref in named if normalize(ref) == normalize(base.ref)}


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_each_notebook_declares_the_bases_it_uses(path: Path) -> None:
    declared = set(ondemand.declared(path.stem))
    used = used_statically(path) | used_in_recording(path)
    assert used <= declared, (
        f"{path.name} uses {sorted(used - declared)} without declaring them in its metadata (workbook.bases)"
    )


def test_the_use_finders_see_froms_calls_and_recorded_builds() -> None:
    nb01 = NOTEBOOKS / "01-images-and-layers.ipynb"
    assert wb.catalog.PYTHON_SLIM in used_statically(nb01)  # apps/hello-python's FROM
    assert wb.catalog.PYTHON_SLIM in used_in_recording(nb01)
    assert _catalog_refs_in("FROM golang:1.27-trixie AS build\nFROM scratch") == {wb.catalog.GOLANG}
    assert _catalog_refs_in("wb.run_once(wb.catalog.BUSYBOX, ...)") == {wb.catalog.BUSYBOX}


def _notebook_with(tmp_path: Path, metadata: object) -> str:
    (tmp_path / "99-probe.ipynb").write_text(json.dumps({"cells": [], "metadata": metadata}))
    return "99-probe"


@pytest.mark.parametrize(
    "metadata, complaint",
    [
        ({"workbook": {"bases": "python:3.13-slim-trixie"}}, "not a list"),
        ({"workbook": {"bases": [1, 2]}}, "not a list"),
        ({"workbook": {"bases": ["evil.example/backdoor:1"]}}, "not in helpers/catalog.py"),
        ({"workbook": {"bases": ["busybox:1.37"] * 40}}, "at most"),
    ],
)
def test_a_bad_declaration_is_one_clear_paragraph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, metadata: object, complaint: str
) -> None:
    monkeypatch.setattr(ondemand, "NOTEBOOKS", tmp_path)
    with pytest.raises(InvalidInput) as caught:
        ondemand.declared(_notebook_with(tmp_path, metadata))
    assert complaint in str(caught.value) and "99-probe" in str(caught.value)


def test_no_declaration_means_no_bases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ondemand, "NOTEBOOKS", tmp_path)
    assert ondemand.declared(_notebook_with(tmp_path, {})) == ()


@pytest.mark.engine
def test_present_bases_are_prepared_silently() -> None:
    shown: list[str] = []
    refs = ondemand.declared("01-images-and-layers")
    assert refs and not ondemand.missing(refs), "make setup prepared every base"
    assert ondemand.prepare("01-images-and-layers", show=shown.append) == []
    assert shown == []
