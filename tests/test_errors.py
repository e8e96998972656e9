"""Error paragraphs: what, where, details, what to try."""

from pathlib import Path

import pytest

import helpers as wb
from helpers.errors import CommandFailed


def test_paragraph_has_what_where_and_hint() -> None:
    error = wb.errors.InvalidInput("Bad thing", where="apps/x/Dockerfile, line 3", hint="fix it")
    assert str(error) == "Bad thing.\nWhere: apps/x/Dockerfile, line 3.\nWhat to try: fix it"


def test_command_failed_carries_command_code_and_tail() -> None:
    error = CommandFailed("It failed", command=["docker", "push", "x"], exit_code=1, output_tail="denied")
    assert error.exit_code == 1 and error.command == ["docker", "push", "x"]
    assert "$ docker push x  (exit code 1)\ndenied" in str(error)


def test_a_helper_error_fails_its_cell_with_one_paragraph(tmp_path: Path) -> None:
    """In a notebook the error shows as its paragraph, and the cell still fails (nbval, Run All)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "import helpers as wb\nfrom helpers.classroom.notebook import show_errors_plainly\nshow_errors_plainly()"
        ),
        nbformat.v4.new_code_cell('wb.app_dir("no-such-app")'),
    ]
    client = NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(tmp_path)}})
    with pytest.raises(CellExecutionError):
        client.execute()
    [error] = notebook.cells[1].outputs
    assert error["output_type"] == "error" and error["ename"] == "InvalidInput"
    assert error["traceback"][0] == "InvalidInput: There is no app folder called 'no-such-app'."
    assert not any("Traceback" in line or "File " in line for line in error["traceback"])
