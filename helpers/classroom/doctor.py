"""What the workbook can do on this machine, as one table."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pandas as pd

from helpers.bases import provision as bases
from helpers.engine import daemon, platforms
from helpers.engine.build import buildkit_version, buildx_available
from helpers.engine.images import manifest_unpacked_bytes
from helpers.errors import WorkbookError
from helpers.labels import IMAGE_LABEL, STANDIN_LABEL
from helpers.replay.session import live_only
from helpers.replay.store import recordings

OK, WARN, FAIL = "ok", "warn", "FAIL"


@dataclass(frozen=True)
class Check:
    check: str
    status: str
    detail: str


def checks() -> list[Check]:
    """The checks, always against the real engine (never a replayed answer)."""
    with live_only():
        return _checks()


def _checks() -> list[Check]:
    rows: list[Check] = []
    try:
        info = daemon.info()
    except WorkbookError as exc:
        rows.append(Check("engine", FAIL, exc.what + f" at {daemon.docker_host()}. " + exc.hint))
        rows.append(_replay_check())
        rows.append(_disk(Path.home()))
        return rows
    where = "remote" if info.remote else "local"
    rows.append(
        Check(
            "engine",
            OK,
            f"Docker {info.version} (API {info.api_version}), {where} at {info.host}, {info.os}, {info.arch}",
        )
    )
    rows.append(_current(info.version))
    rows.append(_store(info.image_store))
    rows.append(
        Check(
            "buildx",
            OK if buildx_available() else WARN,
            f"docker buildx present, BuildKit {_buildkit_text(info.version)}: BuildKit builds"
            if buildx_available()
            else "no buildx plugin: classic builds only (BuildKit lessons skip)",
        )
    )
    rows.append(_host_arch(info.arch))
    runnable = platforms.runnable()
    rows.append(Check("platforms", OK if len(runnable) > 1 else WARN, ", ".join(runnable)))
    online = bases.registry_answers()
    rows.append(
        Check(
            "registry",
            OK if online else WARN,
            "a public registry answers: real bases are pulled"
            if online
            else "no registry answers: offline, stand-in bases are used",
        )
    )
    for status in bases.statuses():
        level = (
            OK
            if status.state in (bases.PULLED, bases.STANDIN)
            else (WARN if status.state == bases.UNAVAILABLE else FAIL)
        )
        size = f", {status.size_mb:.0f} MB" if status.size_mb else ""
        rows.append(
            Check(
                f"base {status.ref}", level, f"{status.state}{size}{', ' + status.versions if status.versions else ''}"
            )
        )
    rows.append(_disk(Path(info.root_dir) if not info.remote else Path.home()))
    rows.extend(_workbook_space())
    return rows


# Written by scripts/setup-daemon.sh when it installed and started the engine.
SETUP_STATE = Path("/var/lib/workbook-engine/daemon.json")
SECOND_STORE_HOST = "unix:///run/workbook-second/docker.sock"


def setup_state() -> dict[str, object]:
    """What the workbook's set-up installed ({} when it did not install the engine)."""
    try:
        state = json.loads(SETUP_STATE.read_text()[:4096])
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _current(version: str) -> Check:
    state = setup_state()
    major = int(version.split(".")[0]) if version.split(".")[0].isdigit() else 0
    installed = (
        f"; installed by the set-up from Debian {state.get('suite')}: docker {state.get('docker')}, "
        f"buildx {state.get('buildx')}, containerd {state.get('containerd')}"
        if state
        else ""
    )
    if state.get("fallback") is True:
        return Check("engine age", WARN, "the set-up fell back to an older engine" + installed)
    if major >= 28:
        return Check("engine age", OK, f"Docker {major}: current (the lessons are written for 28 and later){installed}")
    return Check(
        "engine age",
        WARN,
        f"Docker {major or version} is older than the 28+ the lessons assume: some BuildKit features "
        f"will be refused (the lesson says so){installed}",
    )


def _store(store: str) -> Check:
    if store == daemon.CONTAINERD:
        return Check(
            "image store",
            OK,
            "containerd image store (Docker Desktop's and Engine 29's default): image ids are manifest "
            "digests, one image can hold several platforms, attestations are kept",
        )
    return Check(
        "image store",
        OK,
        "classic image store (overlay2): image ids are config digests, one platform per image; "
        "lessons say where the containerd store differs",
    )


def _buildkit_text(engine_version: str) -> str:
    version = buildkit_version()
    if not version or version.startswith("v0.0.0"):
        return f"bundled with Docker {engine_version} (this build does not stamp its version)"
    return version


def _host_arch(arch: str) -> Check:
    native = {"x86_64": "amd64", "aarch64": "arm64"}.get(arch, arch)
    other = "arm64" if native == "amd64" else "amd64"
    return Check("host platform", OK, f"linux/{native}: the other platform in the multi-arch lesson is linux/{other}")


def _workbook_space() -> list[Check]:
    """Space the workbook's images take, on this engine and on the set-up's second store."""
    rows = []
    for label, host in (("this store", None), ("second store", SECOND_STORE_HOST)):
        try:
            client = daemon.client() if host is None else _other_client(host)
            if client is None:
                continue
            store = daemon._store_of(client.info())
            sizes: dict[str, int] = {}
            for wanted in (IMAGE_LABEL, STANDIN_LABEL):
                for summary in _image_summaries(client, wanted):
                    sizes[summary["Id"]] = _unpacked(summary)
            rows.append(
                Check(
                    f"workbook space ({label})",
                    OK,
                    f"{store} store: {len(sizes)} workbook images, {sum(sizes.values()) / 1e9:.1f} GB unpacked "
                    "(added up: layers two images share count in each)",
                )
            )
        except Exception as exc:  # a second engine that went away is not an error of the doctor
            if host is None:
                raise
            rows.append(Check(f"workbook space ({label})", WARN, f"not measured: {type(exc).__name__}"))
    return rows


def _image_summaries(client: docker.DockerClient, label: str) -> list[dict[str, Any]]:
    """One listing call (no per-image inspect that an image removed meanwhile would fail)."""
    api = client.api
    params = {"filters": json.dumps({"label": [label]}), "manifests": "1"}
    return list(api._result(api._get(api._url("/images/json"), params=params), json=True))


def _unpacked(summary: dict[str, Any]) -> int:
    """Unpacked bytes: the classic store's Size, or the containerd store's per-platform sizes."""
    manifests = summary.get("Manifests") or []
    unpacked = [manifest_unpacked_bytes(m) or 0 for m in manifests if m.get("Kind") == "image" and m.get("Available")]
    return int(sum(unpacked)) if manifests else int(summary.get("Size", 0))


def _other_client(host: str) -> docker.DockerClient | None:
    if not Path(host.removeprefix("unix://")).exists():
        return None
    return docker.DockerClient(base_url=host, timeout=10)


def _replay_check() -> Check:
    recorded = recordings()
    if not recorded:
        return Check("replay", FAIL, "no recordings under notebooks/recordings/: the notebooks cannot replay")
    dates = sorted({date for date in recorded.values() if date})
    return Check(
        "replay",
        WARN,
        f"without an engine the notebooks replay recordings of real runs ({len(recorded)} notebooks, "
        f"recorded {', '.join(dates) or '?'})",
    )


def _disk(path: Path) -> Check:
    while not path.exists() and path != path.parent:
        path = path.parent
    free_gb = shutil.disk_usage(path).free / 1e9
    return Check("free disk", OK if free_gb > 10 else WARN if free_gb > 4 else FAIL, f"{free_gb:.0f} GB free at {path}")


def table() -> pd.DataFrame:
    return pd.DataFrame([vars(row) for row in checks()])


def can_run(rows: list[Check]) -> bool:
    """Notebooks can run for real when nothing FAILs (an unavailable alpine only warns)."""
    return all(row.status != FAIL for row in rows)


def report() -> tuple[str, bool]:
    rows = checks()
    width = max(len(row.check) for row in rows)
    lines = [f"{row.check:<{width}}  {row.status:<4}  {row.detail}" for row in rows]
    ok = can_run(rows)
    lines.append("")
    lines.append(
        "The notebooks can run with real builds here."
        if ok
        else "The notebooks cannot run real builds here: fix the FAIL lines above "
        "(without an engine, notebooks replay recorded results)."
    )
    return "\n".join(lines), ok
