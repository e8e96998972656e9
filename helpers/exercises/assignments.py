"""The five homework tasks, their starter folders under homework/, and the reference solutions
shipped with the package (helpers/exercises/solutions/hwN/): each is laid over its starter
folder to give a ready-to-check copy."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from helpers.errors import WorkbookError
from helpers.labels import learner
from helpers.paths import ROOT, STATE

HOMEWORK_DIR = ROOT / "homework"
SOLUTIONS = Path(__file__).resolve().parent / "solutions"  # package data: solutions/hwN/
SOLUTION = "solution"
NOTES = ("WRONG.md", "ABOUT.md")  # notes beside an answer, not part of the overlay


@dataclass(frozen=True)
class Homework:
    key: str
    folder: str  # under homework/
    title: str

    @property
    def starter(self) -> Path:
        return HOMEWORK_DIR / self.folder


HOMEWORK: dict[str, Homework] = {
    hw.key: hw
    for hw in (
        Homework("hw1", "hw1-node-app", "HW1 · a Dockerfile for a Node.js app"),
        Homework("hw2", "hw2-dockerignore", "HW2 · a .dockerignore"),
        Homework("hw3", "hw3-go-multistage", "HW3 · a multi-stage build for a Go app"),
        Homework("hw4", "hw4-push", "HW4 · push your image to a registry"),
        Homework("hw5", "hw5-greeter", "HW5 · CMD and ENTRYPOINT"),
    )
}


def variants(key: str, answers: Path | None = None) -> list[str]:
    """The overlays of a homework: "solution" (shipped with the package) and, when `answers` is
    given, the folders under answers/<key>/ (e.g. the tests' "wrong-*" answers)."""
    found = [SOLUTION] if (SOLUTIONS / key).is_dir() else []
    folder = answers / key if answers is not None else None
    if folder is not None and folder.is_dir():
        found += [p.name for p in folder.iterdir() if p.is_dir() and p.name != SOLUTION]
    return sorted(found)


def _overlay(key: str, which: str, answers: Path | None) -> Path:
    if which == SOLUTION:
        return SOLUTIONS / key
    if answers is None:
        return SOLUTIONS / key / which  # absent: answers other than the solution live outside the package
    return answers / key / which


def variant(key: str, which: str, answers: Path | None = None) -> Path:
    """A ready-to-check folder: the homework's starter files with an overlay laid over them
    ("solution", or the folder answers/<key>/<which>, e.g. "wrong-no-install"), written under
    .workbook/work/<learner>/homework/."""
    homework = HOMEWORK[key]
    overlay = _overlay(key, which, answers)
    if "/" in which or which in ("", ".", "..") or not overlay.is_dir():
        where = answers / key if answers is not None else SOLUTIONS / key
        raise WorkbookError(
            f"There is no {which!r} for {key}", where=str(where), hint=f"use one of: {variants(key, answers)}"
        )
    destination = STATE / "work" / learner() / "homework" / f"{key}-{which}"
    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(homework.starter, destination)
    for source in sorted(overlay.rglob("*")):
        if source.is_file() and source.name not in NOTES:
            target = destination / source.relative_to(overlay)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def solution(key: str) -> Path:
    """The reference solution of `key` ("hw1" ... "hw5") as a folder a checker can check."""
    return variant(key, SOLUTION)


__all__ = ["HOMEWORK", "HOMEWORK_DIR", "SOLUTIONS", "Homework", "solution", "variant", "variants"]
