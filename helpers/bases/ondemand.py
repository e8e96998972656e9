"""Bases on demand: each notebook declares the base images it needs (its notebook metadata,
`"workbook": {"bases": [...]}`), and `wb.start()` makes sure those, and only those, are
present before the first cell that builds. `make setup` still prepares every base up front."""

from __future__ import annotations

import json

from helpers.bases.provision import MISSING, ensure_bases, status
from helpers.catalog import BY_REF, in_catalog, normalize
from helpers.errors import InvalidInput
from helpers.paths import NOTEBOOKS
from helpers.progress import Show, transient_line

MAX_NOTEBOOK_BYTES = 32 * 1024 * 1024  # the largest executed notebook is a few MB
MAX_DECLARED = 32


def declared(notebook: str) -> tuple[str, ...]:
    """The catalog references notebook NN-name declares in its metadata (none: an empty tuple)."""
    path = NOTEBOOKS / f"{notebook}.ipynb"

    def refused(what: str) -> InvalidInput:
        return InvalidInput(
            f"The base images {notebook} declares cannot be read: {what}",
            where=f"{path} (metadata.workbook.bases)",
            hint='declare them as a list of catalog references, e.g. ["python:3.13-slim-trixie"]',
        )

    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_NOTEBOOK_BYTES + 1)
    except OSError as exc:
        raise refused(f"the notebook cannot be opened ({exc.strerror})") from None
    if len(raw) > MAX_NOTEBOOK_BYTES:
        raise refused(f"the notebook is larger than {MAX_NOTEBOOK_BYTES // 2**20} MB")
    try:
        metadata = json.loads(raw).get("metadata", {})
    except (ValueError, AttributeError):
        raise refused("the notebook is not valid JSON") from None
    bases = metadata.get("workbook", {}).get("bases", []) if isinstance(metadata, dict) else None
    if not isinstance(bases, list) or len(bases) > MAX_DECLARED or not all(isinstance(b, str) for b in bases):
        raise refused(f"it is not a list of at most {MAX_DECLARED} references")
    unknown = [ref for ref in bases if not in_catalog(ref)]
    if unknown:
        raise refused(f"{', '.join(map(repr, unknown))} is not in helpers/catalog.py")
    return tuple(bases)


def missing(refs: tuple[str, ...]) -> list[str]:
    """The references among refs that the engine lacks and could pull or stand in for."""
    return [ref for ref in refs if status(BY_REF[normalize(ref)]).state == MISSING]


def prepare(notebook: str, show: Show | None = None) -> list[str]:
    """Pull or build the bases notebook needs and the engine lacks; silent when none is missing.
    Progress goes to one transient line (`show`, else a display updated in place)."""
    refs = declared(notebook)
    absent = missing(refs)
    if not absent:
        return []
    show = show or transient_line()
    show(f"Preparing the base images {notebook} needs ({', '.join(absent)}): a few minutes, once.")
    ensure_bases(say=show, only=list(refs))
    show(f"Base images ready for {notebook}: {', '.join(refs)}.")
    return absent
