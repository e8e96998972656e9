"""Where the workbook's folders are."""

from __future__ import annotations

from pathlib import Path

from helpers.errors import InvalidInput

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "apps"
NOTEBOOKS = ROOT / "notebooks"
STATE = ROOT / ".workbook"  # local, untracked: recordings in progress, work folders


def app_dir(app: str | Path) -> Path:
    """An app folder: a name under apps/ (e.g. "go-app") or any existing folder path."""
    candidate = Path(app)
    for path in (candidate, APPS / candidate):
        if path.is_dir():
            return path.resolve()
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
