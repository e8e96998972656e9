"""A multiple-choice self-check for notebooks: radio buttons, a Check button, and an
explanation of why the answer is right, shown only once an answer is checked.

The questions live in `quizzes/*.json` (package data), not in the notebooks, so a learner
cannot read the answer in the cell above the widget: `quiz("iq1-cmd-entrypoint")`.
"""

from __future__ import annotations

import difflib
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from helpers.errors import InvalidInput

QUIZ_FILES = files("helpers.exercises") / "quizzes"
MAX_FILE_BYTES = 1_000_000  # a quiz file is a few kB; anything larger is not one


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    options: tuple[str, ...]
    answer: int  # index into options, from 0
    explanation: str


def _question(raw: object, where: str) -> Question:
    """One quiz entry, checked field by field."""
    if not isinstance(raw, dict):
        raise InvalidInput("A quiz entry is not an object", where=where, hint="each entry is {id, question, ...}")
    name = raw.get("id")
    where = f"{where}, quiz {name!r}"
    options = raw.get("options")
    answer = raw.get("answer")
    texts = [raw.get("id"), raw.get("question"), raw.get("explanation")]
    if not all(isinstance(text, str) and text.strip() for text in texts):
        raise InvalidInput("A quiz lacks its id, question or explanation", where=where, hint="give all three as text")
    if not (isinstance(options, list) and len(options) >= 2 and all(isinstance(o, str) and o.strip() for o in options)):
        raise InvalidInput("A quiz needs at least two options, each a text", where=where)
    if len(set(options)) != len(options):
        raise InvalidInput("A quiz lists the same option twice", where=where, hint="make every option different")
    if type(answer) is not int or not 0 <= answer < len(options):
        raise InvalidInput(
            f"The answer {answer!r} is not the index of one of the {len(options)} options",
            where=where,
            hint=f"answer is a whole number from 0 to {len(options) - 1}",
        )
    return Question(str(name), str(raw["question"]), tuple(options), answer, str(raw["explanation"]))


def load(text: str, where: str) -> dict[str, Question]:
    """The quizzes in one quiz file's text, by id."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput("A quiz file is not valid JSON", where=where, detail=str(exc)) from None
    entries = data.get("quizzes") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise InvalidInput("A quiz file holds no list of quizzes", where=where, hint='write {"quizzes": [...]}')
    found: dict[str, Question] = {}
    for number, raw in enumerate(entries):
        question = _question(raw, f"{where}, entry {number}")
        if question.id in found:
            raise InvalidInput(f"Two quizzes have the id {question.id!r}", where=where, hint="give each its own id")
        found[question.id] = question
    return found


@cache
def bank() -> dict[str, Question]:
    """Every quiz shipped with the workbook, by id."""
    found: dict[str, Question] = {}
    for path in sorted(QUIZ_FILES.iterdir(), key=lambda p: p.name):
        if not path.name.endswith(".json"):
            continue
        with path.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise InvalidInput("A quiz file is too large to be one", where=str(path), hint="keep it under 1 MB")
        for name, question in load(raw.decode("utf-8", errors="replace"), str(path)).items():
            if name in found:
                raise InvalidInput(f"Two quiz files define {name!r}", where=str(path), hint="give each quiz its own id")
            found[name] = question
    return found


def question(quiz_id: str) -> Question:
    """The quiz with this id; a plain error naming the closest ids when there is none."""
    every = bank()
    if quiz_id in every:
        return every[quiz_id]
    near = difflib.get_close_matches(str(quiz_id), list(every), n=3)
    raise InvalidInput(
        f"There is no quiz called {str(quiz_id)[:80]!r}",
        where=str(QUIZ_FILES),
        hint=f"did you mean {', '.join(near)}?" if near else f"the quizzes are {', '.join(sorted(every))}",
    )


def verdict(options: Sequence[str], answer_index: int, explanation: str, chosen: int | None) -> tuple[bool | None, str]:
    """(right or not, the text to show) for choice `chosen`; None when nothing was chosen."""
    if chosen is None:
        return None, "Pick an answer first."
    if chosen == answer_index:
        return True, f"✔ Right. {explanation}"
    return False, f"✘ Not quite: the answer is “{options[answer_index]}”. {explanation}"


def quiz(
    question_or_id: str,
    options: Sequence[str] | None = None,
    answer_index: int | None = None,
    explanation: str = "",
) -> Any:
    """A widget: the question, one radio button per option, a Check button, and an Output that
    says whether the choice is right and explains why (only once Check is pressed).

    `quiz("qa4-scratch")` takes the question from the workbook's quiz files (notebooks do
    this, so the answer is not in their source); `quiz(question, options, answer_index,
    explanation)` makes one of your own. Returns an ipywidgets VBox with the attributes
    `radio`, `button`, `output`, and `check()` (what the button runs; it returns the text
    shown, so it can be tried without a browser). Saved in a notebook, its text form is the
    question alone: no options, no answer."""
    import ipywidgets as widgets
    from IPython.display import HTML, display

    if options is None:
        found = question(question_or_id)
        text, choices, answer, why = found.question, found.options, found.answer, found.explanation
    else:
        text, choices, why = question_or_id, tuple(options), explanation
        if not isinstance(answer_index, int) or not 0 <= answer_index < len(choices):
            raise ValueError(f"answer_index {answer_index} is not one of the {len(choices)} options")
        answer = answer_index

    class QuizBox(widgets.VBox):  # type: ignore[misc]
        def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
            data: dict[str, Any] = super()._repr_mimebundle_(**kwargs)
            data["text/plain"] = text  # without a widget view (a saved notebook, replay): the question alone
            return data

    title = widgets.HTML(f"<b>{html.escape(text)}</b>")
    radio = widgets.RadioButtons(
        options=[(choice, number) for number, choice in enumerate(choices)],
        value=None,
        layout=widgets.Layout(width="max-content"),
    )
    button = widgets.Button(description="Check", button_style="primary", icon="check")
    output = widgets.Output()
    box = QuizBox([title, radio, button, output])

    def check(_: object = None) -> str:
        right, said = verdict(choices, answer, why, radio.value)
        color = {True: "#1a7f37", False: "#cf222e", None: "#57606a"}[right]
        output.clear_output()
        with output:
            display(HTML(f'<div style="color:{color};max-width:60em">{html.escape(said)}</div>'))
        return said

    button.on_click(check)
    box.radio, box.button, box.output, box.check = radio, button, output, check
    return box


__all__ = ["Question", "bank", "load", "question", "quiz", "verdict"]
