"""`python -m helpers reset NN`: one notebook back to how the repository has it. The learner's
copy is kept under .workbook/backups/ first; the work folders the notebook writes are removed,
and so are the image tags this learner's runs of it made (the ledger says which); nothing else."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from helpers.errors import InvalidInput
from helpers.labels import learner
from helpers.paths import NOTEBOOKS, ROOT, STATE

Say = Callable[[str], None]
MAX_NOTEBOOK_BYTES = 32 * 1024 * 1024
GIT_TIMEOUT_S = 60
# Folders a notebook writes under .workbook/work/<learner>/: wb.make_app("name", ...) and
# wb.work_copy(app, "name").
WORK_FOLDER = re.compile(r"""wb\.(?:make_app\(\s*|work_copy\(\s*[^,()]+,\s*)["']([A-Za-z0-9][A-Za-z0-9._-]*)["']""")


@dataclass
class Reset:
    notebook: str
    backup: Path | None = None
    folders: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"{self.notebook}: restored as the repository has it"]
        if self.backup:
            lines.append(f"  your copy is kept at {self.backup}")
        lines.append(f"  work folders removed: {', '.join(self.folders) or 'none'}")
        lines.append(f"  images removed: {', '.join(self.images) or 'none'}")
        if self.failed:
            lines.append(f"  could not be removed: {', '.join(self.failed)}")
        return "\n".join(lines)


def committed_notebook(stem: str, root: Path | None = None) -> bytes:
    """The notebook as the checked-out commit has it (git show HEAD:notebooks/NAME.ipynb)."""
    root = root or ROOT
    relative = (NOTEBOOKS / f"{stem}.ipynb").relative_to(root).as_posix()
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "show", f"HEAD:{relative}"],
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _no_pristine(stem, f"git could not be run ({exc})") from None
    if done.returncode != 0:
        raise _no_pristine(stem, done.stderr.decode(errors="replace").strip()[:300] or "git failed")
    if len(done.stdout) > MAX_NOTEBOOK_BYTES:
        raise _no_pristine(stem, "the committed notebook is larger than 32 MB")
    try:
        json.loads(done.stdout)
    except ValueError:
        raise _no_pristine(stem, "the committed notebook is not valid JSON") from None
    return done.stdout


def _no_pristine(stem: str, why: str) -> InvalidInput:
    return InvalidInput(
        f"The repository's own copy of {stem} cannot be read: {why}",
        where=str(NOTEBOOKS / f"{stem}.ipynb"),
        hint="reset needs a git clone of the workbook; in a downloaded copy, download the notebook again",
    )


def work_folders(notebook_text: bytes) -> list[str]:
    """The folder names a notebook's code cells write under .workbook/work/<learner>/."""
    cells = json.loads(notebook_text).get("cells", [])
    code = "\n".join("".join(c.get("source", "")) for c in cells if c.get("cell_type") == "code")
    return sorted(set(WORK_FOLDER.findall(code)))


def reset(wanted: str, say: Say = print) -> Reset:
    """Restore notebook `wanted` (a number such as 05, or its name), keeping the learner's copy."""
    from helpers.classroom.record import notebook_names
    from helpers.engine import daemon
    from helpers.engine.cleanup import remove_notebook_images

    [stem] = notebook_names([wanted])
    pristine = committed_notebook(stem)
    done = Reset(stem)
    path = NOTEBOOKS / f"{stem}.ipynb"
    if path.is_file() and path.read_bytes() != pristine:
        done.backup = STATE / "backups" / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}.ipynb"
        done.backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, done.backup)
    path.write_bytes(pristine)
    home = STATE / "work" / learner()
    for name in work_folders(pristine):
        folder = home / name
        if folder.is_dir() and folder.resolve().parent == home.resolve():
            shutil.rmtree(folder)
            done.folders.append(name)
    if daemon.available():
        removed = remove_notebook_images(stem)
        done.images, done.failed = removed.images, [str(f) for f in removed.failed]
    else:
        say("No engine answers: the images this notebook made stay until `python -m helpers cleanup`.")
    return done
