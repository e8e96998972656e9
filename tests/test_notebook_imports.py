"""Every notebook and homework file uses the learner API one way: `import helpers as wb`.

Then only `wb.<name>` with a name in `helpers.__all__`, or `wb.<module>.<name>` with a name
that module really has; never `from helpers import ...`, `import helpers.x` or a chain three
levels deep. No engine is needed: code cells are parsed, not run.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

import helpers

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = frozenset(helpers.__all__)
ALIAS = "wb"
FENCED_PYTHON = re.compile(r"^```python[ \t]*\n(.*?)^```", re.MULTILINE | re.DOTALL)

Problem = tuple[int, str]  # (line in the cell, what is wrong)


def _without_magics(source: str) -> str:
    """The cell with IPython magic and shell lines blanked, so line numbers stay the same."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def _helpers_import_problems(node: ast.AST) -> Iterator[Problem]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] != "helpers":
                continue
            if alias.name != "helpers" or alias.asname != ALIAS:
                written = alias.name + (f" as {alias.asname}" if alias.asname else "")
                yield node.lineno, f"`import {written}`: write `import helpers as {ALIAS}`"
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "helpers":
        names = ", ".join(alias.name for alias in node.names)
        yield node.lineno, f"`from {node.module} import {names}`: write `import helpers as {ALIAS}`"


def _attribute_chain(node: ast.Attribute) -> list[str] | None:
    """['wb', 'x', 'y'] for `wb.x.y`; None when the chain does not start at the name `wb`."""
    names: list[str] = []
    current: ast.expr = node
    while isinstance(current, ast.Attribute):
        names.append(current.attr)
        current = current.value
    if not (isinstance(current, ast.Name) and current.id == ALIAS):
        return None
    return [ALIAS, *reversed(names)]


def _attribute_problems(node: ast.Attribute) -> Iterator[Problem]:
    chain = _attribute_chain(node)
    if chain is None:
        return
    written = ".".join(chain)
    first = chain[1]
    if first not in ALLOWED:
        yield node.lineno, f"`{ALIAS}.{first}` is not in helpers.__all__"
        return
    if len(chain) == 3 and not hasattr(getattr(helpers, first), chain[2]):
        yield node.lineno, f"`{written}`: {ALIAS}.{first} has no `{chain[2]}`"
    if len(chain) > 3:
        yield node.lineno, f"`{written}` goes more than two levels deep: use `{ALIAS}.<module>.<name>`"


def problems(source: str) -> list[Problem]:
    """What breaks the learner API rule in one cell of Python, as (line, sentence) pairs."""
    try:
        tree = ast.parse(_without_magics(source))
    except SyntaxError as error:
        return [(error.lineno or 0, f"does not parse: {error.msg}")]
    inner = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    found: list[Problem] = []
    for node in ast.walk(tree):
        found.extend(_helpers_import_problems(node))
        # Only the outermost attribute of a chain is checked, so `wb.a.b.c` is reported once.
        if isinstance(node, ast.Attribute) and id(node) not in inner:
            found.extend(_attribute_problems(node))
    return sorted(found)


def _notebook_cells(path: Path) -> Iterator[tuple[str, str]]:
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            yield f"cell {index}", cell.source
        elif cell.cell_type == "markdown":
            for block, code in enumerate(FENCED_PYTHON.findall(cell.source)):
                yield f"cell {index} (markdown python block {block})", code


def _markdown_blocks(path: Path) -> Iterator[tuple[str, str]]:
    for block, code in enumerate(FENCED_PYTHON.findall(path.read_text(encoding="utf-8"))):
        yield f"python block {block}", code


def _sources() -> list[Path]:
    homework = ROOT / "homework"
    found = sorted((ROOT / "notebooks").glob("*.ipynb"))
    for pattern in ("*.ipynb", "*.md", "*.py"):
        found += sorted(path for path in homework.rglob(pattern) if ".ipynb_checkpoints" not in path.parts)
    return found


def _cells(path: Path) -> Iterator[tuple[str, str]]:
    if path.suffix == ".ipynb":
        yield from _notebook_cells(path)
    elif path.suffix == ".md":
        yield from _markdown_blocks(path)
    else:
        yield "file", path.read_text(encoding="utf-8")


SOURCES = _sources()


def test_notebooks_are_found() -> None:
    """The rule is checked on all 22 notebooks, not on an empty list."""
    assert len([path for path in SOURCES if path.parent.name == "notebooks"]) == 22


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(ROOT)))
def test_learner_api_is_used_one_way(path: Path) -> None:
    """Each notebook and homework file imports helpers only as `wb` and names only what exists."""
    report = [
        f"{path.relative_to(ROOT)} {where} line {line}: {what}"
        for where, source in _cells(path)
        for line, what in problems(source)
    ]
    assert not report, "\n".join(report)


def undefined_names(*paths: Path) -> list[str]:
    """ruff's undefined-name findings (F821) for notebooks and files, read in cell order: a
    leftover bare module name such as `kit.save(...)` shows up here."""
    command = [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", "--select", "F821"]
    result = subprocess.run(
        [*command, "--output-format", "concise", *map(str, paths)], capture_output=True, text=True, timeout=120
    )
    return [line for line in result.stdout.splitlines() if "F821" in line]


def test_notebooks_and_homework_name_nothing_undefined() -> None:
    """No notebook or homework file uses a name it never defines or imports."""
    assert undefined_names(ROOT / "notebooks", ROOT / "homework") == []


def test_undefined_name_check_can_fail(tmp_path: Path) -> None:
    """A notebook that calls a helpers module by its bare name is reported."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("import helpers as wb"), nbformat.v4.new_code_cell("kit.save('x')")]
    path = tmp_path / "bare-module.ipynb"
    nbformat.write(notebook, path)
    assert any("`kit`" in line for line in undefined_names(path))


BAD_CELLS = {
    "deep-from": ("from helpers.exercises.probe import image_files", 1, "from helpers.exercises.probe import"),
    "from-helpers": ("import os\nfrom helpers import charts", 2, "from helpers import charts"),
    "import-submodule": ("import helpers.engine", 1, "import helpers.engine"),
    "no-alias": ("import helpers", 1, "`import helpers`"),
    "other-alias": ("import helpers as h", 1, "import helpers as h"),
    "unknown-name": ("import helpers as wb\nwb.nope()", 2, "wb.nope"),
    "unknown-module-name": ("import helpers as wb\nx = wb.engine.nope", 2, "wb.engine.nope"),
    "three-levels": ("import helpers as wb\nwb.exercises.probe.image_files('x')", 2, "more than two levels"),
    "after-magic": ("%time x = 1\n!ls\nwb.lint.lint('Dockerfile')", 3, "wb.lint.lint"),
}


@pytest.mark.parametrize(("source", "line", "expected"), BAD_CELLS.values(), ids=BAD_CELLS.keys())
def test_checker_reports_known_bad_cells(source: str, line: int, expected: str) -> None:
    """The checker the notebooks pass is able to fail: each known-bad cell is reported at its line."""
    assert any(found_line == line and expected in what for found_line, what in problems(source)), problems(source)


def test_checker_accepts_the_rule() -> None:
    """The one allowed form passes, including a magic line and names of the real modules."""
    source = (
        "%matplotlib inline\n!ls\nimport helpers as wb\n"
        "wb.start('00-start-here')\nwb.exercises.image_files\nwb.errors.NoSuchImage\n@wb.replayable\ndef f(): ..."
    )
    assert problems(source) == []
