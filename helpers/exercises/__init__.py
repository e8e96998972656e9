"""Exercises with automatic feedback: the five homework checkers and the quiz widget.

    from helpers import exercises
    exercises.check_hw1()                       # checks homework/hw1-node-app
    exercises.check_hw1(exercises.solution("hw1"))
    exercises.quiz("Question?", ["a", "b"], 1, "Because ...")

Modules: `feedback` (the Feedback a checker returns), `homework` (the checkers), `dockerfile`
(reading a Dockerfile's instructions and bases), `probe` (files in an image, ports a container
listens on, what it answers), `quiz` (the multiple-choice widget).
"""

from helpers.exercises.feedback import FAIL, PASS, SKIP, TIP, Feedback, Item
from helpers.exercises.homework import (
    CHECKERS,
    FIXTURES,
    HOMEWORK,
    HOMEWORK_DIR,
    check_hw1,
    check_hw2,
    check_hw3,
    check_hw4,
    check_hw5,
    solution,
    variant,
    variants,
)
from helpers.exercises.quiz import quiz

SOLUTIONS = FIXTURES  # tests/fixtures/homework/hwN/solution/ hold the reference solutions

__all__ = [
    "CHECKERS",
    "FAIL",
    "FIXTURES",
    "HOMEWORK",
    "HOMEWORK_DIR",
    "PASS",
    "SKIP",
    "SOLUTIONS",
    "TIP",
    "Feedback",
    "Item",
    "check_hw1",
    "check_hw2",
    "check_hw3",
    "check_hw4",
    "check_hw5",
    "quiz",
    "solution",
    "variant",
    "variants",
]
