"""The result of a homework check: one line per thing checked, ✔ or ✘, and one hint per failure."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

PASS, FAIL, TIP, SKIP = "pass", "fail", "tip", "skip"
SYMBOL = {PASS: "✔", FAIL: "✘", TIP: "☆", SKIP: "·"}
COLOR = {PASS: "#1a7f37", FAIL: "#cf222e", TIP: "#9a6700", SKIP: "#6e7781"}


@dataclass(frozen=True)
class Item:
    """One thing a checker looked at.

    status: PASS, FAIL, TIP (an optional improvement; never fails the homework) or SKIP
    (could not be checked because an earlier step failed). `text` says what was found,
    `hint` the one thing to do about it, `detail` holds log lines or a listing."""

    status: str
    text: str
    hint: str = ""
    detail: str = ""

    def lines(self) -> list[str]:
        out = [f"{SYMBOL[self.status]} {self.text}"]
        out += [f"    {line}" for line in self.detail.rstrip().splitlines()]
        if self.hint:
            out.append(f"    → {self.hint}")
        return out


@dataclass
class Feedback:
    """What a `check_hwN()` found. Shown as ✔/✘ lines in a notebook; never raises."""

    task: str
    folder: str
    items: list[Item] = field(default_factory=list)

    # -- building it --------------------------------------------------------------

    def ok(self, text: str, detail: str = "") -> None:
        self.items.append(Item(PASS, text, detail=detail))

    def fail(self, text: str, hint: str, detail: str = "") -> None:
        self.items.append(Item(FAIL, text, hint, detail))

    def tip(self, text: str, hint: str) -> None:
        self.items.append(Item(TIP, text, hint))

    def skip(self, *texts: str) -> None:
        for text in texts:
            self.items.append(Item(SKIP, f"not checked: {text}"))

    # -- reading it ---------------------------------------------------------------

    @property
    def passed(self) -> bool:
        """True when nothing failed and something was actually checked."""
        return not self.failures and any(item.status == PASS for item in self.items)

    @property
    def failures(self) -> list[Item]:
        return [item for item in self.items if item.status == FAIL]

    @property
    def checks(self) -> list[Item]:
        """The items that were checked (passed or failed), leaving out tips and skips."""
        return [item for item in self.items if item.status in (PASS, FAIL)]

    def verdict(self) -> str:
        counted = len(self.checks)
        if self.passed:
            return f"passed: all {counted} checks"
        return f"not yet: {len(self.failures)} of {counted} checks failed"

    def messages(self) -> str:
        """Every text, hint and detail, one per line: what tests search for."""
        return "\n".join(part for item in self.items for part in (item.text, item.hint, item.detail) if part)

    def __str__(self) -> str:
        lines = [f"{self.task} ({self.folder}): {self.verdict()}"]
        for item in self.items:
            lines += item.lines()
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        color = COLOR[PASS] if self.passed else COLOR[FAIL]
        rows = []
        for item in self.items:
            parts = [
                f'<span style="color:{COLOR[item.status]};font-weight:bold">{SYMBOL[item.status]}</span> '
                f"{html.escape(item.text)}"
            ]
            if item.detail:
                parts.append(
                    '<pre style="margin:0.2em 0 0.2em 1.5em;padding:0.3em;background:#f6f8fa;'
                    f'font-size:0.85em;white-space:pre-wrap">{html.escape(item.detail.rstrip())}</pre>'
                )
            if item.hint:
                parts.append(f'<div style="margin-left:1.5em;color:#57606a">→ {html.escape(item.hint)}</div>')
            rows.append(f'<li style="list-style:none;margin:0.25em 0">{"".join(parts)}</li>')
        return (
            f'<div style="border-left:4px solid {color};padding:0.4em 0.8em">'
            f"<strong>{html.escape(self.task)}</strong> "
            f'<code>{html.escape(self.folder)}</code>: <span style="color:{color}">{html.escape(self.verdict())}</span>'
            f'<ul style="padding-left:0.5em;margin:0.4em 0">{"".join(rows)}</ul></div>'
        )


__all__ = ["FAIL", "PASS", "SKIP", "TIP", "Feedback", "Item"]
