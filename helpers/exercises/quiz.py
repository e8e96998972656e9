"""A multiple-choice self-check for notebooks: radio buttons, a Check button, and an
explanation of why the answer is right."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any


def verdict(options: Sequence[str], answer_index: int, explanation: str, chosen: int | None) -> tuple[bool | None, str]:
    """(right or not, the text to show) for choice `chosen`; None when nothing was chosen."""
    if chosen is None:
        return None, "Pick an answer first."
    if chosen == answer_index:
        return True, f"✔ Right. {explanation}"
    return False, f"✘ Not quite: the answer is “{options[answer_index]}”. {explanation}"


def quiz(question: str, options: Sequence[str], answer_index: int, explanation: str) -> Any:
    """A widget: the question, one radio button per option, a Check button, and an Output that
    says whether the choice is right and explains why. Returns an ipywidgets VBox with the
    attributes `radio`, `button`, `output`, and `check()` (what the button runs; it returns
    the text shown, so it can be tried without a browser)."""
    import ipywidgets as widgets
    from IPython.display import HTML, display

    if not 0 <= answer_index < len(options):
        raise ValueError(f"answer_index {answer_index} is not one of the {len(options)} options")
    title = widgets.HTML(f"<b>{html.escape(question)}</b>")
    radio = widgets.RadioButtons(
        options=[(text, number) for number, text in enumerate(options)],
        value=None,
        layout=widgets.Layout(width="max-content"),
    )
    button = widgets.Button(description="Check", button_style="primary", icon="check")
    output = widgets.Output()
    box = widgets.VBox([title, radio, button, output])

    def check(_: object = None) -> str:
        right, text = verdict(options, answer_index, explanation, radio.value)
        color = {True: "#1a7f37", False: "#cf222e", None: "#57606a"}[right]
        output.clear_output()
        with output:
            display(HTML(f'<div style="color:{color};max-width:60em">{html.escape(text)}</div>'))
        return text

    button.on_click(check)
    box.radio, box.button, box.output, box.check = radio, button, output, check  # type: ignore[attr-defined]
    return box


__all__ = ["quiz", "verdict"]
