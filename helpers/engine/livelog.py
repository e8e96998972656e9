"""Showing a long-running log as it streams: a live tail in a notebook, plain lines elsewhere."""

from __future__ import annotations

import html
import sys
from collections import deque


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


class LiveLog:
    """Keeps the last `keep` lines on screen while a build or pull runs."""

    def __init__(self, title: str, keep: int = 12, quiet: bool = False) -> None:
        self.title = title
        self.lines: deque[str] = deque(maxlen=keep)
        self.quiet = quiet
        self._handle = None
        if not quiet and _in_notebook():
            from IPython.display import HTML, display

            self._handle = display(HTML(self._html()), display_id=True)

    def _html(self) -> str:
        body = html.escape("\n".join(self.lines))
        return (
            f"<details open><summary>{html.escape(self.title)}</summary>"
            f"<pre style='font-size:85%;max-height:16em;overflow:auto'>{body}</pre></details>"
        )

    def __call__(self, line: str) -> None:
        if self.quiet:
            return
        self.lines.append(line)
        if self._handle is not None:
            from IPython.display import HTML

            self._handle.update(HTML(self._html()))
        else:
            print(line, file=sys.stderr)

    def close(self, summary: str) -> None:
        """Replace the live tail by a one-line summary (keeps committed notebooks short)."""
        if self._handle is not None:
            from IPython.display import HTML

            self._handle.update(HTML(f"<code>{html.escape(summary)}</code>"))
