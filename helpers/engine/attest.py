"""Attestations read back from a registry: the SLSA provenance and the SPDX SBOM that BuildKit
attached to an image, through `docker buildx imagetools inspect --format '{{json .X}}'`.

The parsers (provenance_facts, spdx_packages) take the JSON as data and keep only plain,
bounded values, so a hostile or odd document gives a short answer or a plain error."""

from __future__ import annotations

import json
import shutil
from typing import Any

import pandas as pd

from helpers.engine import buildx_run
from helpers.errors import InvalidInput
from helpers.replay import replayable

MAX_TEXT = 300
MAX_ITEMS = 5000
PACKAGE_COLUMNS = ["name", "version", "purl"]


def _inspect(registry: Any, name: str, tag: str, field: str) -> Any:
    env = registry.cli_env()
    try:
        data = buildx_run.bounded_output(
            [
                "docker",
                "buildx",
                "imagetools",
                "inspect",
                "--format",
                "{{json ." + field + "}}",
                "--",
                registry.ref(name, tag),
            ],
            env=env,
            timeout=180,
        )
    finally:
        shutil.rmtree(env["DOCKER_CONFIG"], ignore_errors=True)
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise InvalidInput(
            f"imagetools did not answer JSON for the {field} of {name}:{tag}",
            detail=data[:300].decode(errors="replace"),
        ) from None


@replayable
def provenance(registry: Any, name: str, tag: str) -> dict[str, Any]:
    """The provenance attached to NAME:TAG in `registry`, summarized by provenance_facts."""
    return provenance_facts(_inspect(registry, name, tag, "Provenance"))


@replayable
def sbom_packages(registry: Any, name: str, tag: str) -> pd.DataFrame:
    """The packages the SBOM attached to NAME:TAG in `registry` lists (spdx_packages)."""
    return spdx_packages(_inspect(registry, name, tag, "SBOM"))


def provenance_facts(document: Any) -> dict[str, Any]:
    """From `{{json .Provenance}}` (`{"SLSA": {...}}` for one platform, or a map platform ->
    that): the build type, the materials (what the build pulled, with digests), the build
    arguments, the frontend, and whether the full build definition (mode=max) is included."""
    slsa = _slsa(document)
    invocation = _dict(slsa.get("invocation"))
    parameters = _dict(invocation.get("parameters"))
    arguments = {
        _text(key).removeprefix("build-arg:"): _text(value)
        for key, value in list(_dict(parameters.get("args")).items())[:MAX_ITEMS]
        if _text(key).startswith("build-arg:")
    }
    materials = [
        {"uri": _text(_dict(m).get("uri")), "sha256": _text(_dict(_dict(m).get("digest")).get("sha256"))}
        for m in _list(slsa.get("materials"))[:MAX_ITEMS]
    ]
    config = _dict(slsa.get("buildConfig"))
    return {
        "buildType": _text(slsa.get("buildType")),
        "frontend": _text(parameters.get("frontend")),
        "build_args": arguments,
        "materials": materials,
        "entryPoint": _text(_dict(invocation.get("configSource")).get("entryPoint")),
        "steps_recorded": len(_list(config.get("llbDefinition"))),  # 0 unless mode=max
    }


def spdx_packages(document: Any) -> pd.DataFrame:
    """From `{{json .SBOM}}` (`{"SPDX": {...}}`, or a map platform -> that): name, version and
    package URL of every package the SPDX document lists."""
    spdx = _dict(document).get("SPDX")
    if spdx is None and isinstance(document, dict) and len(document) == 1:
        spdx = _dict(next(iter(document.values()))).get("SPDX")  # one platform's entry
    if not isinstance(spdx, dict):
        raise InvalidInput(
            "This is not an SBOM attestation (no SPDX document)", hint="was it built with an SBOM attestation?"
        )
    rows = []
    for package in _list(spdx.get("packages"))[:MAX_ITEMS]:
        package = _dict(package)
        purl = next(
            (
                _text(r.get("referenceLocator"))
                for r in map(_dict, _list(package.get("externalRefs")))
                if r.get("referenceType") == "purl"
            ),
            "",
        )
        rows.append({"name": _text(package.get("name")), "version": _text(package.get("versionInfo")), "purl": purl})
    return pd.DataFrame(rows, columns=PACKAGE_COLUMNS)


def _slsa(document: Any) -> dict[str, Any]:
    if isinstance(document, dict) and isinstance(document.get("SLSA"), dict):
        return document["SLSA"]
    if isinstance(document, dict) and len(document) == 1:  # a map platform -> {"SLSA": ...}
        inner = next(iter(document.values()))
        if isinstance(inner, dict) and isinstance(inner.get("SLSA"), dict):
            return inner["SLSA"]
    raise InvalidInput(
        "This is not a provenance attestation (no SLSA document)", hint="was it built with --provenance?"
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    return value[:MAX_TEXT] if isinstance(value, str) else ""
