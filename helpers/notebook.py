"""Notebook conveniences, called explicitly (importing helpers changes nothing)."""

from __future__ import annotations

from typing import Any

from .errors import WorkbookError


def show_errors_plainly() -> None:
    """Show a WorkbookError as its one paragraph instead of a traceback wall."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    def handler(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None) -> None:
        print(f"{etype.__name__}: {value}")

    shell.set_custom_exc((WorkbookError,), handler)
