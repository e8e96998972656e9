"""Where the workbook's folders are.

The workbook folder (notebooks/, apps/, homework/) is $WORKBOOK_ROOT, else the checkout this
package sits in, else the nearest folder at or above the current one that holds notebooks/ and
apps/. Installed elsewhere without one, the helpers still import; what needs the folders says so.
"""

from __future__ import annotations

import os
from pathlib import Path

from helpers.errors import InvalidInput

ROOT_ENV = "WORKBOOK_ROOT"


def _is_workbook(folder: Path) -> bool:
    return (folder / "notebooks").is_dir() and (folder / "apps").is_dir()


def _find_root() -> tuple[Path, bool]:
    if os.environ.get(ROOT_ENV):
        chosen = Path(os.environ[ROOT_ENV]).expanduser().resolve()
        return chosen, _is_workbook(chosen)
    candidates = [Path(__file__).resolve().parent.parent]
    try:
        here = Path.cwd().resolve()
        candidates += [here, *here.parents]
    except OSError:  # the current folder was removed
        pass
    for folder in candidates:
        if _is_workbook(folder):
            return folder, True
    return candidates[0], False


ROOT, FOUND = _find_root()
APPS = ROOT / "apps"
NOTEBOOKS = ROOT / "notebooks"
STATE = (ROOT if FOUND else Path.cwd()) / ".workbook"  # local, untracked: recordings in progress, work folders
NOT_FOUND_HINT = (
    f"run from inside your copy of the workbook, or set {ROOT_ENV} to it (the folder that holds notebooks/ and apps/)"
)


def _readable_dir(path: Path) -> bool:
    """True for a folder; False also where it cannot be looked at (e.g. a relative name while
    the current folder is one this user may not read)."""
    try:
        return path.is_dir()
    except OSError:
        return False


def app_dir(app: str | Path) -> Path:
    """An app folder: a name under apps/ (e.g. "go-app") or any existing folder path."""
    candidate = Path(app)
    for path in (candidate, APPS / candidate):
        if _readable_dir(path):
            return path.resolve()
    if not FOUND:
        raise InvalidInput(f"There is no app folder called {app!r}: no workbook folder was found", hint=NOT_FOUND_HINT)
    known = ", ".join(sorted(p.name for p in APPS.iterdir() if p.is_dir())) if APPS.is_dir() else ""
    raise InvalidInput(
        f"There is no app folder called {app!r}",
        where=str(APPS),
        hint=f"use one of: {known}" if known else "pass the path of a folder with a Dockerfile",
    )


def work_copy(app: str | Path, name: str) -> Path:
    """A fresh, editable copy of an app folder under .workbook/work/ (untracked), so a
    lesson can change files without touching apps/."""
    import shutil

    from helpers.labels import learner

    source = app_dir(app)
    destination = STATE / "work" / learner() / name
    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(source, destination)
    return destination


def make_app(name: str, files: dict[str, str]) -> Path:
    """Write a small app folder (Dockerfile and sources) under .workbook/work/ and return it.
    Lessons use it for short Dockerfiles they show in full."""
    from helpers.labels import learner

    destination = STATE / "work" / learner() / name
    destination.mkdir(parents=True, exist_ok=True)
    for relative, text in files.items():
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return destination
