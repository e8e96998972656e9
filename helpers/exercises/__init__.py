"""Exercises with automatic feedback: the five homework checkers and the quiz widget.

    import helpers as wb
    wb.exercises.check_hw1()                    # checks homework/hw1-node-app
    wb.exercises.check_hw1(wb.exercises.solution("hw1"))
    wb.exercises.start_hw4(); ...; wb.exercises.check_hw4()   # HW4: push with the docker CLI
    wb.exercises.quiz("Question?", ["a", "b"], 1, "Because ...")
    wb.exercises.image_files("busybox:1.37")    # every file in an image: path -> size in bytes

Modules: `homework` (the five checkers, each in its own module `hw1_node_app` ... `hw5_greeter`),
`checks` (the steps every checker shares), `assignments` (the homework table, starter folders and
reference solutions), `feedback` (the Feedback a checker returns), `dockerfile` (reading a
Dockerfile's instructions and bases), `probe` (files in an image, ports a container listens on,
what it answers), `quiz` (the multiple-choice widget).
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
    push_reference_hw4,
    solution,
    start_hw4,
    stop_hw4,
    variant,
    variants,
)
from helpers.exercises.probe import image_files
from helpers.exercises.quiz import quiz

SOLUTIONS = FIXTURES  # helpers/exercises/solutions/hwN/ (package data) hold the reference solutions

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
    "image_files",
    "push_reference_hw4",
    "quiz",
    "solution",
    "start_hw4",
    "stop_hw4",
    "variant",
    "variants",
]
