"""Build the course website offline: `make site` (or `python site/build.py [OUT]`).

The executed notebooks are copied as committed into a scratch source folder, each with a
first line of launch links (and a note where an output is a widget that needs a running
kernel); the outline coverage, the homework sheet and the instructor guide become pages.
Sphinx renders it with myst-nb and the book theme; nothing is executed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "site"
SOURCE = ROOT / ".workbook" / "site-src"
OUT = SITE / "_build" / "html"
REPOSITORY = "https://github.com/OWNER/REPOSITORY"
WIDGET = "application/vnd.jupyter.widget-view+json"
PAGES = {"coverage.md": ROOT / "notebooks" / "COVERAGE.md", "homework.md": ROOT / "homework" / "README.md",
         "instructors.md": ROOT / "INSTRUCTORS.md"}  # fmt: skip


def launch_line(stem: str) -> str:
    binder = f"https://mybinder.org/v2/gh/OWNER/REPOSITORY/HEAD?urlpath=lab/tree/notebooks/{stem}.ipynb"
    codespaces = "https://codespaces.new/OWNER/REPOSITORY"
    return (
        f"*Run this lesson:* [on Binder]({binder}) (replay mode: the recorded results, no engine) · "
        f"[in a Codespace]({codespaces}) (a real engine) · or `make lab` in a clone of [the repository]({REPOSITORY})."
    )


WIDGET_NOTE = (
    "*This page shows a recorded run. Some outputs are interactive widgets: they need a running "
    "kernel, so here they show only their text. Run the notebook to use them.*"
)


def has_widgets(notebook: nbformat.NotebookNode) -> bool:
    return any(WIDGET in output.get("data", {}) for cell in notebook.cells for output in cell.get("outputs", []))


def copy_notebook(path: Path, target: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    lines = [launch_line(path.stem)] + ([WIDGET_NOTE] if has_widgets(notebook) else [])
    title, *rest = notebook.cells[0].source.split("\n", 1)
    notebook.cells[0].source = "\n".join([title, "", *lines, *(["", rest[0]] if rest else [])])
    nbformat.write(notebook, target)


def prepare_source() -> Path:
    shutil.rmtree(SOURCE, ignore_errors=True)
    (SOURCE / "notebooks").mkdir(parents=True)
    for name in ("conf.py", "index.md"):
        shutil.copy(SITE / name, SOURCE / name)
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")):
        copy_notebook(path, SOURCE / "notebooks" / path.name)
    for page, origin in PAGES.items():
        shutil.copy(origin, SOURCE / page)
    return SOURCE


def build(out: Path = OUT) -> Path:
    source = prepare_source()
    shutil.rmtree(out, ignore_errors=True)
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-j", "2", str(source), str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise SystemExit(f"The site did not build (sphinx exited {done.returncode}):\n{done.stderr[-4000:]}")
    return out


if __name__ == "__main__":
    built = build(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
    print(f"site built: {built / 'index.html'}")
