"""HW5 · CMD and ENTRYPOINT: `docker run IMAGE` greets the world, `docker run IMAGE Ana` greets
Ana: an exec-form ENTRYPOINT with the default name as CMD."""

from __future__ import annotations

import json
from pathlib import Path

from helpers.engine import images
from helpers.engine.run import run_once
from helpers.errors import ContainerFailed
from helpers.exercises import dockerfile
from helpers.exercises.checks import Check, build_image, check_folder, read_dockerfile, short_start_error, step
from helpers.exercises.feedback import Feedback

GREETING_DEFAULT, GREETING_ANA = "Hello, world!", "Hello, Ana!"


def _shell_form(command: list[str] | None) -> bool:
    return bool(command) and len(command or []) == 3 and (command or [])[:2] == ["/bin/sh", "-c"]


def _run_greeter(ref: str, args: list[str] | None) -> tuple[int | None, str]:
    try:
        done = run_once(ref, args, timeout=60)
    except ContainerFailed as error:
        return None, short_start_error(error.detail or str(error))
    return done.exit_code, done.output.strip()


def greeter_diagnosis(
    entry: list[str] | None, command: list[str] | None, with_args: bool, output: str = ""
) -> tuple[str, str]:
    """(why, what to do) for a greeter image that does not behave, from its ENTRYPOINT and CMD
    (and, for a run that printed a greeting, what it printed)."""
    if _shell_form(entry):
        assert entry is not None
        return (
            f"your ENTRYPOINT ignores the arguments you pass (shell form: it runs /bin/sh -c {entry[2]!r}, "
            "and arguments after it never reach greet)",
            'write the ENTRYPOINT as a JSON array, ENTRYPOINT ["greet"], and put the default name in CMD ["world"]',
        )
    if not entry:
        return (
            "with CMD only, the arguments of docker run replace the whole command"
            + (", so the container tried to run a program called Ana" if with_args else ""),
            'make greet the ENTRYPOINT (ENTRYPOINT ["greet"]) and keep the default name as CMD ["world"]',
        )
    if _shell_form(command):
        assert command is not None
        return (
            f"your CMD is in shell form, so the ENTRYPOINT received /bin/sh -c {command[2]!r} as its arguments",
            'write CMD as a JSON array: CMD ["world"]',
        )
    if len(entry) > 1 and not command:
        return (
            f"the default name is part of the ENTRYPOINT ({json.dumps(entry)}), so arguments are added after it",
            'keep only the program in ENTRYPOINT ["greet"] and move the default name into CMD ["world"]',
        )
    if not command:
        return (
            "without arguments greet gets no name: nothing supplies a default",
            'add CMD ["world"]: CMD holds the default arguments of the ENTRYPOINT',
        )
    if not with_args and output.startswith("Hello, ") and output != GREETING_DEFAULT:
        return (
            f"the ENTRYPOINT and CMD work as the task wants, but the default name in your CMD {json.dumps(command)} "
            f"is not world (greet prints names as given, upper case included)",
            'make the default exactly CMD ["world"]',
        )
    return ("the program or its arguments are not the ones expected", "greet is at /usr/local/bin/greet in the image")


def _as_run(instruction: dockerfile.Instruction | None) -> list[str] | None:
    """What the image config holds for a CMD/ENTRYPOINT: the exec form's array, or sh -c TEXT."""
    if instruction is None:
        return None
    return instruction.exec_form or ["/bin/sh", "-c", instruction.value]


@step()
def forms(check: Check) -> bool:
    """Read from the Dockerfile (replay mode, no engine): ENTRYPOINT and CMD, both in exec form."""
    instructions = check.instructions or []
    entry = _as_run(dockerfile.last(instructions, "ENTRYPOINT"))
    command = _as_run(dockerfile.last(instructions, "CMD"))
    if entry and not _shell_form(entry) and command and not _shell_form(command) and len(entry) == 1:
        check.feedback.ok(f"ENTRYPOINT {json.dumps(entry)} and CMD {json.dumps(command)}, both in exec form")
    else:
        why, fix = greeter_diagnosis(entry, command, False)
        check.feedback.fail(why[0].upper() + why[1:], fix)
    return True


@step("the build")
def builds(check: Check) -> bool:
    return build_image(check, check.tag())


@step("docker run IMAGE", "docker run IMAGE Ana")
def greets(check: Check) -> bool:
    feedback, ref = check.feedback, check.built.ref
    config = images.config(ref)
    entry, command = config["Entrypoint"], config["Cmd"]
    for args, expected in ((None, GREETING_DEFAULT), (["Ana"], GREETING_ANA)):
        shown = "docker run IMAGE" + (" " + " ".join(args) if args else "")
        code, output = _run_greeter(ref, args)
        if code == 0 and output == expected:
            feedback.ok(f"{shown} prints {expected!r}")
            continue
        why, fix = greeter_diagnosis(entry, command, args is not None, output if code == 0 else "")
        if code is None:
            observed = f"{shown} could not start ({output})"
        else:
            observed = f"{shown} printed {output[:100]!r} (exit code {code}), not {expected!r}"
        feedback.fail(f"{observed}: {why}", fix)
    if entry and not _shell_form(entry) and command and not _shell_form(command):
        feedback.ok(
            f"ENTRYPOINT {json.dumps(entry)} (exec form) runs the program, CMD {json.dumps(command)} is its default"
        )
    elif entry and not _shell_form(entry) and not command and not feedback.failures:
        feedback.fail(
            "the default name does not come from CMD",
            'keep ENTRYPOINT ["greet"] and give the default as CMD ["world"]: that is what the task practises',
        )
    return True


STEPS = (read_dockerfile("start from the starter Dockerfile", bases=True), builds, greets)


def check(work: str | Path | None = None) -> Feedback:
    return check_folder("hw5", work, STEPS)
