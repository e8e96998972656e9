"""The quizzes: every one shipped is well formed, the notebooks ask only quizzes that exist, and
no notebook gives an answer away (in its source, its saved outputs or its saved widget state).
No engine is needed."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import nbformat
import pytest

from helpers.errors import InvalidInput
from helpers.exercises.quiz import bank, load, question, quiz

quiz_module = sys.modules["helpers.exercises.quiz"]  # `helpers.exercises.quiz` is the function

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
QUIZ_CALL = ("exercises", "quiz")


def _quiz_calls(source: str) -> list[ast.Call]:
    """Every `wb.exercises.quiz(...)` call in a code cell."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    calls = []
    for node in ast.walk(tree):
        func = node.func if isinstance(node, ast.Call) else None
        if isinstance(func, ast.Attribute) and func.attr == QUIZ_CALL[1]:
            owner = func.value
            if isinstance(owner, ast.Attribute) and owner.attr == QUIZ_CALL[0]:
                calls.append(node)
    return calls


def _asked() -> list[tuple[str, list[ast.Call]]]:
    found = []
    for path in NOTEBOOKS:
        cells = nbformat.read(path, as_version=4).cells
        calls = [call for cell in cells if cell.cell_type == "code" for call in _quiz_calls(cell.source)]
        if calls:
            found.append((path.name, calls))
    return found


def test_the_bank_is_shipped_and_well_formed() -> None:
    quizzes = bank()
    assert len(quizzes) >= 13, sorted(quizzes)
    for name, found in quizzes.items():
        assert found.id == name
        assert 0 <= found.answer < len(found.options), name
        assert len(set(found.options)) == len(found.options) >= 2, name
        assert found.question.strip() and found.explanation.strip(), name


def test_the_quiz_files_are_package_data() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert '"exercises/quizzes/*.json"' in text
    assert list((ROOT / "helpers" / "exercises" / "quizzes").glob("*.json"))


def test_notebooks_ask_by_id_and_only_for_quizzes_that_exist() -> None:
    asked = _asked()
    assert asked, "no notebook asks a quiz: the interview notebooks should"
    for name, calls in asked:
        for call in calls:
            assert len(call.args) == 1 and not call.keywords, f"{name}: ask a quiz by its id only, not inline"
            argument = call.args[0]
            assert isinstance(argument, ast.Constant) and isinstance(argument.value, str), f"{name}: the id is text"
            assert argument.value in bank(), f"{name} asks for {argument.value!r}, which no quiz file defines"


def test_no_notebook_gives_an_answer_away() -> None:
    """A quiz cell holds its id only: no options, no answer, no explanation. And which option is
    right, and why, appears nowhere in a notebook file: not in its outputs or saved widget state
    (the options themselves are on screen anyway: the widget shows them)."""
    for path in NOTEBOOKS:
        text = path.read_text(encoding="utf-8")
        as_json = json.dumps(json.loads(text), ensure_ascii=False)  # the same text, escapes undone
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and _quiz_calls(cell.source):
                for found in bank().values():
                    leaks = [o for o in (*found.options, found.explanation) if o in cell.source]
                    assert not leaks, f"{path.name}: a quiz cell holds {leaks[0][:60]!r} ({found.id})"
        for found in bank().values():
            for snippet in (found.explanation, found.explanation[:60]):
                assert snippet not in as_json, f"{path.name} holds the explanation of {found.id}"
        for verdict_text in ("✔ Right.", "✘ Not quite", "the answer is “"):
            assert verdict_text not in as_json, f"{path.name} saved a quiz verdict ({verdict_text})"


def test_saved_quiz_output_is_the_question_not_a_widget_repr() -> None:
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            calls = _quiz_calls(cell.source) if cell.cell_type == "code" else []
            if not calls:
                continue
            expected = question(calls[0].args[0].value).question  # type: ignore[attr-defined]
            shown = [o.get("data", {}).get("text/plain", "") for o in cell.get("outputs", [])]
            assert "VBox(" not in "".join(shown), f"{path.name}: a quiz output is a widget repr"
            if shown:
                assert shown == [expected], f"{path.name}: the saved text of {expected[:40]!r} is {shown}"


def test_the_widget_hides_then_explains() -> None:
    found = question("qa4-scratch")
    widget = quiz("qa4-scratch")
    bundle = widget._repr_mimebundle_()
    assert bundle["text/plain"] == found.question
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert found.explanation not in widget.children[0].value
    assert widget.check() == "Pick an answer first."
    widget.radio.value = (found.answer + 1) % len(found.options)
    said = widget.check()
    assert said.startswith("✘ Not quite") and found.options[found.answer] in said and found.explanation in said
    widget.radio.value = found.answer
    assert widget.check() == f"✔ Right. {found.explanation}"


def test_an_unknown_id_says_which_exist() -> None:
    with pytest.raises(InvalidInput, match="no quiz called") as caught:
        quiz("qa4-scrach")
    assert "qa4-scratch" in str(caught.value)


def _one(**changed: object) -> str:
    entry = {"id": "a", "question": "q?", "options": ["x", "y"], "answer": 0, "explanation": "e"} | changed
    return json.dumps({"quizzes": [entry]})


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        ("not json", "not valid JSON"),
        ("[]", "no list of quizzes"),
        ('{"quizzes": [1]}', "not an object"),
        (_one(answer=2), "not the index"),
        (_one(answer=-1), "not the index"),
        (_one(answer=True), "not the index"),
        (_one(answer="0"), "not the index"),
        (_one(options=["x", "x"]), "twice"),
        (_one(options=["x"]), "two options"),
        (_one(options="xy"), "two options"),
        (_one(question=""), "lacks"),
        (_one(explanation=None), "lacks"),
        (_one().replace("}]", "}, " + _one()[13:-2] + "]"), "Two quizzes"),
    ],
)
def test_a_bad_quiz_file_is_refused_plainly(text: str, wrong: str) -> None:
    with pytest.raises(InvalidInput, match=wrong):
        load(text, "test.json")


def test_a_huge_quiz_file_is_not_read_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "big.json").write_text(" " * (quiz_module.MAX_FILE_BYTES + 10))
    monkeypatch.setattr(quiz_module, "QUIZ_FILES", tmp_path)
    bank.cache_clear()
    try:
        with pytest.raises(InvalidInput, match="too large"):
            bank()
    finally:
        bank.cache_clear()
