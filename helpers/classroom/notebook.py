"""Notebook conveniences, called explicitly (importing helpers changes nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helpers.errors import WorkbookError


def show_errors_plainly() -> None:
    """Show a WorkbookError as its one paragraph instead of a traceback wall."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    def handler(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None) -> list[str]:
        # Shown as the cell's error, so the cell still fails (Run All stops, nbval fails),
        # with one paragraph instead of a traceback.
        lines = f"{etype.__name__}: {value}".splitlines()
        shell._showtraceback(etype, value, lines)
        return lines

    shell.set_custom_exc((WorkbookError,), handler)


def check(condition: object, claim: str) -> None:
    """Assert a lesson's claim and say it: prints "✔ claim", or fails the cell naming the claim."""
    if not condition:
        raise AssertionError(f"This lesson's claim no longer holds here: {claim}")
    print(f"✔ {claim}")


def show(source: str | Path, language: str = "dockerfile") -> Any:
    """Show a file (or text) as a highlighted code block."""
    from IPython.display import Markdown

    text = Path(source).read_text() if isinstance(source, Path) else source
    return Markdown(f"```{language}\n{text.rstrip()}\n```")
