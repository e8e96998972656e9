"""Unit tests of build-log parsing (no engine)."""

from helpers.engine.buildlog import (
    buildkit_failure,
    buildkit_steps,
    classic_failure,
    classic_steps,
    failing_step_output,
)

CLASSIC = """Step 1/4 : FROM python:3.13-slim-trixie
 ---> 500295a32a80
Step 2/4 : WORKDIR /app
 ---> Using cache
 ---> 1a2b3c
Step 3/4 : COPY app.py .
 ---> 4d5e6f
Step 4/4 : RUN exit 3
 ---> Running in abc
Step 5/5 : LABEL org.dockerworkbook.image=ana""".splitlines()

BUILDKIT = """#5 [1/4] FROM docker.io/library/python:3.13-slim-trixie
#5 DONE 0.0s
#6 [2/4] WORKDIR /app
#6 CACHED
#7 [3/4] COPY app.py .
#7 DONE 0.1s
#8 [4/4] RUN exit 3
#8 ERROR: process "/bin/sh -c exit 3" did not complete successfully: exit code: 3
------
Dockerfile:4
--------------------
ERROR: failed to solve: process "/bin/sh -c exit 3" did not complete successfully: exit code: 3""".splitlines()

DOCKERFILE = ["FROM python:3.13-slim-trixie", "WORKDIR /app", "COPY app.py .", "RUN exit 3"]


def test_classic_steps_mark_cache_and_drop_engine_labels() -> None:
    steps = classic_steps(CLASSIC)
    assert [s.instruction for s in steps] == DOCKERFILE
    assert [s.cached for s in steps] == [True, True, False, False]


def test_buildkit_steps_mark_cache_and_times() -> None:
    steps = buildkit_steps(BUILDKIT)
    assert [s.number for s in steps] == [1, 2, 3, 4]
    assert [s.cached for s in steps] == [True, True, False, False]
    assert steps[2].seconds == 0.1


def test_buildkit_failure_names_line_step_and_exit_code() -> None:
    failure = buildkit_failure(BUILDKIT, DOCKERFILE)
    assert failure.line == 4
    assert failure.step == "RUN exit 3"
    assert failure.exit_code == 3


def test_classic_failure_finds_line_by_text() -> None:
    failure = classic_failure(CLASSIC[:-1], "The command '/bin/sh -c exit 3' returned a non-zero code: 3", DOCKERFILE)
    assert (failure.step, failure.line, failure.exit_code) == ("RUN exit 3", 4, 3)


def test_the_failing_steps_own_output_is_kept_when_the_summary_lacks_it() -> None:
    """buildx can print its error summary before the step's last lines reach it."""
    log = [
        "#8 [final 1/1] RUN ./build.sh",
        "#8 0.121 starting",
        "#8 0.123 /bin/sh: ./build.sh: Permission denied",
        '#8 ERROR: process "/bin/sh -c ./build.sh" did not complete successfully: exit code: 126',
        "#9 [other 1/1] RUN true",
        "#9 0.050 unrelated",
        "------",
        " > [final 1/1] RUN ./build.sh:",
        "------",
        'ERROR: failed to solve: process "/bin/sh -c ./build.sh" did not complete successfully: exit code: 126',
    ]
    assert failing_step_output(log) == ["0.121 starting", "0.123 /bin/sh: ./build.sh: Permission denied"]
    assert failing_step_output(["#1 [1/1] RUN true", "#1 DONE 0.1s"]) == []
