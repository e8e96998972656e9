"""notebooks/STYLE.md and notebooks/COVERAGE.md, enforced: each notebook's skeleton, length and
stated time; prerequisites tables that quote other notebooks' times as those notebooks state
them; no plumbing in lessons; every coverage entry names a real section that asserts a claim.
No engine is needed: the notebooks are parsed, not run."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
STEMS = {path.stem[:2]: path.stem for path in PATHS}
MAX_CELLS = 40
MAX_MINUTES = 40
HOMEWORK_SHEET = "19-homework"  # may run longer, with a time per task
STATED_TIME = re.compile(r"Time for this notebook: \*\*(\d+) minutes\*\*")
PREREQUISITE_ROW = re.compile(r"^\|[^|\n]*\|\s*`?(\d\d-[a-z0-9-]+)`?[^|\n]*\|\s*(\d+) min\s*\|", re.MULTILINE)
HEADING = re.compile(r"^## (.+)$", re.MULTILINE)
SKELETON = ("Overview", "Prerequisites", "Summary", "What's next")
# Plumbing a lesson must leave to helpers (STYLE.md: one call per cell). Code in strings (a
# script written into an image) is not the lesson's own.
FORBIDDEN_MODULES = {
    "subprocess": "runs a process itself",
    "urllib": "talks HTTP itself",
    "requests": "talks HTTP itself",
}


@cache
def _notebook(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _markdown(path: Path) -> str:
    return "\n\n".join(cell.source for cell in _notebook(path).cells if cell.cell_type == "markdown")


def _stated_minutes(path: Path) -> int | None:
    found = STATED_TIME.search(_markdown(path))
    return int(found.group(1)) if found else None


def test_the_lessons_are_found() -> None:
    assert len(PATHS) >= 20, PATHS


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_notebook_is_short_enough(path: Path) -> None:
    cells = len(_notebook(path).cells)
    minutes = _stated_minutes(path)
    if path.stem == HOMEWORK_SHEET:
        per_task = re.findall(r"\((\d+) min\)|(\d+) minutes", _markdown(path))
        assert per_task, "the homework sheet states a time for each task"
        return
    assert cells <= MAX_CELLS, f"{path.name} has {cells} cells; split or trim it to {MAX_CELLS}"
    assert minutes is not None, f"{path.name} states no 'Time for this notebook: **N minutes**'"
    assert minutes <= MAX_MINUTES, f"{path.name} states {minutes} minutes; the limit is {MAX_MINUTES}"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_notebook_follows_the_skeleton(path: Path) -> None:
    cells = _notebook(path).cells
    title = cells[0].source.splitlines()[0]
    assert cells[0].cell_type == "markdown" and title.startswith("# "), "the first cell is the `# Title`"
    if path.stem != "00-start-here":
        assert title.startswith(f"# {path.stem[:2]} · "), f"the title starts with '# {path.stem[:2]} · '"
    headings = [h.strip() for h in HEADING.findall(_markdown(path))]
    missing = [name for name in SKELETON if name not in headings]
    assert not missing, f"{path.name} lacks the sections {missing}"
    first_code = next(cell.source for cell in cells if cell.cell_type == "code")
    assert f'wb.start("{path.stem}")' in first_code, "the first code cell calls wb.start with the notebook's name"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_prerequisite_times_match_the_notebooks(path: Path) -> None:
    for stem, minutes in PREREQUISITE_ROW.findall(_markdown(path)):
        target = NOTEBOOKS / f"{stem}.ipynb"
        assert target.is_file(), f"{path.name} names {stem}, which is not a notebook"
        stated = _stated_minutes(target)
        if stated is not None:
            assert int(minutes) == stated, f"{path.name} says {stem} takes {minutes} min; {stem} says {stated}"


def plumbing(source: str) -> list[str]:
    """What a code cell does that belongs in helpers: process and HTTP modules, hidden
    imports, private helper names."""
    try:
        tree = ast.parse(
            "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
        )
    except SyntaxError:
        return ["the cell is not valid Python"]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [FORBIDDEN_MODULES[n.split(".")[0]] for n in names if n.split(".")[0] in FORBIDDEN_MODULES]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__":
            found.append("imports behind the reader's back")
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id == "wb":
                found.append(f"reaches into a private helper (.{node.attr})")
    return found


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_lessons_leave_plumbing_to_helpers(path: Path) -> None:
    problems = [
        f"cell {index}: {why}"
        for index, cell in enumerate(_notebook(path).cells)
        if cell.cell_type == "code"
        for why in plumbing(cell.source)
    ]
    assert not problems, problems


@pytest.mark.parametrize(
    "source",
    ["import subprocess", "from urllib.request import urlopen", "__import__('io')", "wb.registry._status(x)"],
)
def test_the_plumbing_check_can_fail(source: str) -> None:
    assert plumbing(source)


def test_code_inside_strings_is_not_the_lessons_own() -> None:
    assert plumbing('script = """import subprocess"""\nwb.show(path)') == []


# --- COVERAGE.md --------------------------------------------------------------------------------

COVERAGE = NOTEBOOKS / "COVERAGE.md"
ROW = re.compile(r"^\| ([A-Z]+\d+) \| [^|]+ \| ([^|]+) \| ([^|]+) \|$", re.MULTILINE)
ENTRY = re.compile(r"(\d\d) · ")


def _coverage_rows() -> list[tuple[str, str, str]]:
    return ROW.findall(COVERAGE.read_text(encoding="utf-8"))


def _sections(path: Path) -> dict[str, list[nbformat.NotebookNode]]:
    """Each `##` heading's text, with the cells up to the next `##` heading."""
    sections: dict[str, list[nbformat.NotebookNode]] = {}
    current: list[nbformat.NotebookNode] | None = None
    for cell in _notebook(path).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("## "):
                    current = sections.setdefault(line[3:].strip(), [])
        if current is not None:
            current.append(cell)
    return sections


def _row_id(value: str) -> str:
    return value if re.fullmatch(r"[A-Z]+\d+", value) else ""


def coverage_problems(where: str) -> list[str]:
    """What is wrong with one coverage cell: `NN · heading; heading; MM · heading`."""
    problems = []
    notebook = None
    for part in [p.strip() for p in where.split(";") if p.strip()]:
        if match := ENTRY.match(part):
            notebook, part = match.group(1), part[match.end() :]
        if notebook not in STEMS:
            problems.append(f"{part!r}: no notebook numbered {notebook}")
            continue
        sections = _sections(NOTEBOOKS / f"{STEMS[notebook]}.ipynb")
        found = [cells for heading, cells in sections.items() if heading.startswith(part)]
        if not found:
            problems.append(f"{STEMS[notebook]} has no section '## {part}'")
        elif not any(c.cell_type == "code" and "wb.check(" in c.source for cells in found for c in cells):
            problems.append(f"{STEMS[notebook]} · {part}: no wb.check in that section")
    return problems


def test_coverage_names_every_outline_item() -> None:
    outline = ROOT.parent / "shared" / "reference" / "outline-items.md"
    ids = {row[0] for row in _coverage_rows()}
    assert len(ids) >= 50, ids
    if outline.is_file():
        wanted = set(re.findall(r"^- ([A-Z]+\d+) ", outline.read_text(encoding="utf-8"), re.MULTILINE))
        assert wanted <= ids, sorted(wanted - ids)


@pytest.mark.parametrize("item, where, status", _coverage_rows(), ids=_row_id)
def test_coverage_entry_is_a_section_that_asserts(item: str, where: str, status: str) -> None:
    assert status.strip().startswith(("live", "partial")), f"{item}: status is 'live' or 'partial: why'"
    assert not coverage_problems(where), coverage_problems(where)


def test_coverage_check_can_fail() -> None:
    assert coverage_problems("01 · No such section here")
    assert coverage_problems("99 · 1. Anything")
    assert coverage_problems("00 · Overview")  # a section without a wb.check
