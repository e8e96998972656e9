"""Every base image any Dockerfile or notebook uses is in the one catalog."""

from __future__ import annotations

import json
import re

import pytest

from helpers import catalog
from helpers.paths import APPS, NOTEBOOKS, ROOT

# Dockerfile FROM lines; Python's `from x import y` is not one.
FROM = re.compile(
    r"^\s*FROM\s+(?:--platform=\S+\s+)?(?!\S+\s+import\b)(\S+)(?:\s+AS\s+(\S+))?", re.IGNORECASE | re.MULTILINE
)


def from_references(text: str) -> list[str]:
    """Base references in Dockerfile text, leaving out stage names and ARG-made names."""
    stages = {m.group(2).lower() for m in FROM.finditer(text) if m.group(2)}
    refs = []
    for match in FROM.finditer(text):
        ref = match.group(1).strip("\"',")
        if ref.lower() in stages or "$" in ref or "{" in ref:
            continue
        refs.append(ref)
    return refs


def dockerfile_texts() -> list[tuple[str, str]]:
    found = [(str(p.relative_to(ROOT)), p.read_text()) for p in APPS.rglob("Dockerfile*")]
    for notebook in NOTEBOOKS.glob("*.ipynb"):
        cells = json.loads(notebook.read_text())["cells"]
        for number, cell in enumerate(cells):
            text = "".join(cell["source"])
            if cell["cell_type"] == "markdown":  # prose may start a line with "from"; code blocks count
                text = "\n".join(re.findall(r"```[^\n]*\n(.*?)```", text, flags=re.DOTALL))
            found.append((f"{notebook.name} cell {number}", text))
    return found


def test_stage_names_args_and_python_imports_are_not_bases() -> None:
    text = (
        "FROM golang:1.27-trixie AS build\nFROM --platform=$BUILDPLATFORM build AS x\nFROM ${BASE}\n"
        "from helpers import x\n"
    )
    assert from_references(text) == ["golang:1.27-trixie"]


@pytest.mark.parametrize(("where", "text"), dockerfile_texts())
def test_every_base_is_in_the_catalog(where: str, text: str) -> None:
    missing = [ref for ref in from_references(text) if not catalog.in_catalog(ref)]
    assert not missing, f"{where} uses bases missing from helpers/catalog.py: {missing}"


def test_catalog_references_are_pinned() -> None:
    for base in catalog.CATALOG:
        assert not base.ref.endswith(":latest"), base.ref
        assert ":" in base.ref or base.ref.startswith("gcr.io/distroless/"), base.ref


def test_normalize() -> None:
    assert catalog.normalize("docker.io/library/debian:trixie-slim") == "debian:trixie-slim"
    assert catalog.normalize("gcr.io/distroless/static-debian13") == "gcr.io/distroless/static-debian13:latest"
    assert catalog.in_catalog("python:3.13-slim-trixie@sha256:" + "0" * 64)
    assert not catalog.in_catalog("python:latest")
