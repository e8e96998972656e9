"""What the workbook can do on this machine, as one table."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import bases, engine, platforms
from .build import buildx_available
from .errors import WorkbookError
from .replay.session import live_only
from .replay.store import recordings

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
        info = engine.info()
    except WorkbookError as exc:
        rows.append(Check("engine", FAIL, exc.what + f" at {engine.docker_host()}. " + exc.hint))
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
    rows.append(
        Check(
            "buildx",
            OK if buildx_available() else WARN,
            "docker buildx present: BuildKit builds"
            if buildx_available()
            else "no buildx plugin: classic builds only (BuildKit lessons skip)",
        )
    )
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
    return rows


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
