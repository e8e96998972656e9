"""Error paragraphs: what, where, details, what to try."""

import helpers as wb
from helpers.errors import CommandFailed


def test_paragraph_has_what_where_and_hint() -> None:
    error = wb.InvalidInput("Bad thing", where="apps/x/Dockerfile, line 3", hint="fix it")
    assert str(error) == "Bad thing.\nWhere: apps/x/Dockerfile, line 3.\nWhat to try: fix it"


def test_command_failed_carries_command_code_and_tail() -> None:
    error = CommandFailed("It failed", command=["docker", "push", "x"], exit_code=1, output_tail="denied")
    assert error.exit_code == 1 and error.command == ["docker", "push", "x"]
    assert "$ docker push x  (exit code 1)\ndenied" in str(error)
