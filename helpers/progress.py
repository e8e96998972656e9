"""Progress in a notebook: one output line that each message replaces, so a long save, load or
base preparation leaves only its last line behind (elsewhere, a plain print per message)."""

from __future__ import annotations

from collections.abc import Callable

Show = Callable[[str], None]


def transient_line() -> Show:
    """A function that shows a message in place of the previous one."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return print
    if get_ipython() is None or not hasattr(get_ipython(), "kernel"):
        return print
    handle = display({"text/plain": ""}, raw=True, display_id=True)
    if handle is None:
        return print
    return lambda text: handle.update({"text/plain": text}, raw=True)
