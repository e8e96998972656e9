"""Reading build logs: which steps ran, which came from the cache, where a build failed.

Pure text parsing, so it is unit-tested without an engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from helpers.labels import PREFIX as LABEL_PREFIX


@dataclass
class BuildStep:
    number: int
    instruction: str
    cached: bool
    seconds: float | None = None


# Classic builder: "Step 3/7 : RUN pip install ..." then " ---> Using cache" or " ---> Running in"
_CLASSIC_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
# BuildKit plain progress: "#7 [stage-0 3/5] RUN pip install ..." ... "#7 CACHED" / "#7 DONE 1.2s"
_BK_VERTEX = re.compile(r"^#(\d+) \[(?:([\w.-]+) )?(\d+)/(\d+)\] (.*)$")
_BK_CACHED = re.compile(r"^#(\d+) CACHED$")
_BK_DONE = re.compile(r"^#(\d+) DONE (\d+(?:\.\d+)?)s$")
_BK_ERROR = re.compile(r"^#(\d+) ERROR: (.*)$")
_BK_LINE = re.compile(r"^(?:\S*Dockerfile[\w.-]*):(\d+)$")
_BK_OUTPUT = re.compile(r"^#(\d+) (\d+\.\d+ .*)$")  # "#9 0.123 /bin/sh: ./build.sh: Permission denied"
_EXIT_CODE = re.compile(r"(?:exit code: |returned a non-zero code: )(\d+)")


def classic_steps(lines: list[str]) -> list[BuildStep]:
    """Steps of a classic build log. FROM counts as cached (it is resolved, not run); the
    LABEL steps the engine appends for build-time labels are left out."""
    steps: list[BuildStep] = []
    for line in lines:
        match = _CLASSIC_STEP.match(line)
        if match:
            instruction = match.group(3)
            steps.append(BuildStep(int(match.group(1)), instruction, cached=instruction.startswith("FROM ")))
        elif steps and line.strip() == "---> Using cache":
            steps[-1].cached = True
    return [step for step in steps if not step.instruction.startswith(f"LABEL {LABEL_PREFIX}")]


def buildkit_steps(lines: list[str]) -> list[BuildStep]:
    """Steps of a BuildKit plain-progress log, in Dockerfile order (stage, then number)."""
    by_vertex: dict[int, BuildStep] = {}
    order: dict[int, tuple[str, int]] = {}
    for line in lines:
        if match := _BK_VERTEX.match(line):
            vertex = int(match.group(1))
            if vertex not in by_vertex:
                stage = match.group(2) or ""
                instruction = match.group(5)
                by_vertex[vertex] = BuildStep(int(match.group(3)), instruction, cached=False)
                order[vertex] = (stage, int(match.group(3)))
        elif match := _BK_CACHED.match(line):
            if step := by_vertex.get(int(match.group(1))):
                step.cached = True
        elif (match := _BK_DONE.match(line)) and (step := by_vertex.get(int(match.group(1)))):
            step.seconds = float(match.group(2))
    # Dockerfile order: stages in the order they first appear, steps by number within each.
    stage_rank: dict[str, int] = {}
    for vertex in sorted(order):
        stage_rank.setdefault(order[vertex][0], vertex)
    steps = [by_vertex[v] for v in sorted(by_vertex, key=lambda v: (stage_rank[order[v][0]], order[v][1]))]
    # FROM lines are resolved, not run: report them as cached unless they pulled.
    for step in steps:
        if step.instruction.startswith("FROM ") and step.seconds in (None, 0.0):
            step.cached = True
    return steps


@dataclass(frozen=True)
class Failure:
    step: str
    line: int | None
    exit_code: int | None
    message: str


def classic_failure(lines: list[str], error: str, dockerfile_lines: list[str]) -> Failure:
    steps = classic_steps(lines)
    step = steps[-1].instruction if steps else ""
    return Failure(step, _line_of(step, dockerfile_lines), _exit_code(error), error.strip())


def buildkit_failure(lines: list[str], dockerfile_lines: list[str]) -> Failure:
    step, message, line_number = "", "", None
    vertices: dict[str, str] = {}
    for line in lines:
        if match := _BK_VERTEX.match(line):
            vertices[match.group(1)] = match.group(5)
        elif match := _BK_ERROR.match(line):
            step = vertices.get(match.group(1), step)
            message = match.group(2)
        elif (match := _BK_LINE.match(line.strip())) and line_number is None:
            line_number = int(match.group(1))
        elif line.startswith("ERROR: ") and not message:
            message = line[len("ERROR: ") :]
    if line_number is None and step:
        line_number = _line_of(step, dockerfile_lines)
    return Failure(step, line_number, _exit_code(message), message.strip())


def failing_step_output(lines: list[str], keep: int = 8) -> list[str]:
    """The last output lines of the BuildKit step that failed, as "0.123 text".

    The error summary at the end of the log usually repeats them, but not always (buildx may
    print the summary before the step's last lines reach it), so they are taken from the step.
    """
    failed = [match.group(1) for line in lines if (match := _BK_ERROR.match(line))]
    if not failed:
        return []
    output = [m.group(2) for line in lines if (m := _BK_OUTPUT.match(line)) and m.group(1) == failed[-1]]
    return output[-keep:]


def _exit_code(text: str) -> int | None:
    match = _EXIT_CODE.search(text)
    return int(match.group(1)) if match else None


def _line_of(step: str, dockerfile_lines: list[str]) -> int | None:
    """The 1-based Dockerfile line where `step` starts (best effort, by text)."""
    wanted = " ".join(step.split())[:60]
    for number, text in enumerate(dockerfile_lines, start=1):
        if wanted and " ".join(text.split())[: len(wanted)] == wanted:
            return number
    first = wanted.split(" ")[0:2]
    for number, text in enumerate(dockerfile_lines, start=1):
        if first and text.split()[0:2] == first:
            return number
    return None
