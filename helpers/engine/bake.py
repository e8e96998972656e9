"""`docker buildx bake`: many targets from one HCL file in one call, tagged in the learner's
namespace through the file's PREFIX and LEARNER variables, and recorded for cleanup."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import docker.errors
import pandas as pd

from helpers.catalog import normalize
from helpers.engine import buildx_run, daemon, ledger
from helpers.errors import InvalidInput
from helpers.labels import learner
from helpers.replay import replayable

PLAN_COLUMNS = ["target", "context", "dockerfile", "tag"]
MAX_TARGETS = 200


def variables() -> dict[str, str]:
    """The bake variables that keep tags and labels in this learner's namespace."""
    return {"PREFIX": f"wb-{learner()}", "LEARNER": learner()}


def _file(path: str | Path) -> Path:
    file = Path(path).resolve()
    if not file.is_file() or (file.suffix not in (".hcl", ".json") and not file.name.endswith((".yml", ".yaml"))):
        raise InvalidInput(f"There is no bake file at {path}", hint="pass the path of a docker-bake.hcl")
    return file


@replayable
def plan(path: str | Path) -> pd.DataFrame:
    """`docker buildx bake --print`: every target's context, Dockerfile and tag (no build)."""
    file = _file(path)
    output = buildx_run.bounded_output(
        ["docker", "buildx", "bake", "--file", str(file), "--print"],
        env=buildx_run.environment(variables()),
        timeout=60,
        cwd=file.parent,
    )
    return parse_plan(output.decode(errors="replace"))


def parse_plan(text: str) -> pd.DataFrame:
    """The targets of `docker buildx bake --print` JSON as rows (the first tag of each)."""
    start = text.find("{")
    try:
        document = json.loads(text[start:]) if start >= 0 else None
    except (ValueError, RecursionError):
        document = None
    targets = document.get("target") if isinstance(document, dict) else None
    if not isinstance(targets, dict):
        raise InvalidInput("`docker buildx bake --print` did not print the targets", detail=text[:300])
    rows = []
    for name, target in list(targets.items())[:MAX_TARGETS]:
        target = target if isinstance(target, dict) else {}
        tags = target.get("tags") if isinstance(target.get("tags"), list) else []
        rows.append(
            {
                "target": str(name)[:100],
                "context": str(target.get("context", "."))[:300],
                "dockerfile": str(target.get("dockerfile", "Dockerfile"))[:300],
                "tag": str(tags[0])[:300] if tags else "",
            }
        )
    return pd.DataFrame(rows, columns=PLAN_COLUMNS).sort_values("target", ignore_index=True)


@replayable
def bake(path: str | Path, *, no_cache: bool = False, quiet: bool = True, timeout: float = 3600) -> dict[str, Any]:
    """Build every target of the bake file's default group in one call. Returns the seconds it
    took and, per target, its tag and image id (each tag recorded for cleanup)."""
    file = _file(path)
    daemon.client()  # fail early and plainly when no engine answers
    args = ["bake", "--file", str(file), "--load"] + (["--no-cache"] if no_cache else [])
    ran = buildx_run.run(
        args,
        title=f"baking {file.name}",
        env=buildx_run.environment(variables()),
        cwd=file.parent,
        quiet=quiet,
        timeout=timeout,
    )
    if ran.exit_code != 0:
        raise buildx_run.failed(ran, f"docker buildx bake {file.name} failed", str(file))
    client = daemon.client()
    rows = []
    for target, found in sorted(ran.metadata.items())[:MAX_TARGETS]:
        if not isinstance(found, dict):
            continue
        tag = normalize(str(found.get("image.name", "")).split(",")[0])  # docker.io/wb-ana/x:1 -> wb-ana/x:1
        try:
            image_id = str(client.images.get(tag).id)
        except docker.errors.ImageNotFound:
            image_id = ""
        if image_id:
            ledger.record(image_id, tag)  # cleanup removes it later
        rows.append({"target": target, "tag": tag, "image_id": image_id})
    return {"seconds": round(ran.seconds, 1), "images": pd.DataFrame(rows, columns=["target", "tag", "image_id"])}
