"""Reading a learner's Dockerfile: its instructions, its stages and whether each base is pinned."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from helpers import catalog


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, ...
    value: str  # everything after the keyword, continuation lines joined
    line: int  # where it starts (1-based)

    @property
    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form CMD/ENTRYPOINT/RUN, or None for shell form."""
        text = self.value.strip()
        if not text.startswith("["):
            return None
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):  # not JSON, or nested past the parser's limit
            return None
        return [str(part) for part in parsed] if isinstance(parsed, list) else None

    def __str__(self) -> str:
        return f"{self.keyword} {self.value}"


@dataclass(frozen=True)
class Stage:
    base: str  # as written after FROM
    name: str  # the AS name, or ""
    line: int
    from_stage: bool  # FROM an earlier stage's name


def parse(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile, with `\\` continuations joined and comments left out."""
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continuation are skipped, as Docker does
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        joined = " ".join(part for part in pending if part)
        pending = []
        keyword, _, value = joined.partition(" ")
        instructions.append(Instruction(keyword.upper(), value.strip(), start))
    if pending:
        joined = " ".join(part for part in pending if part)
        keyword, _, value = joined.partition(" ")
        instructions.append(Instruction(keyword.upper(), value.strip(), start))
    return instructions


def read(path: Path) -> list[Instruction]:
    return parse(path.read_text(errors="replace")) if path.is_file() else []


def stages(instructions: list[Instruction]) -> list[Stage]:
    found: list[Stage] = []
    names: set[str] = set()
    for instruction in instructions:
        if instruction.keyword != "FROM":
            continue
        words = [w for w in instruction.value.split() if not w.startswith("--")]
        base = words[0] if words else ""
        name = words[2] if len(words) >= 3 and words[1].lower() == "as" else ""
        found.append(Stage(base, name, instruction.line, base.lower() in names))
        if name:
            names.add(name.lower())
    return found


def last(instructions: list[Instruction], keyword: str, stage_only: bool = True) -> Instruction | None:
    """The last `keyword` instruction (of the final stage when `stage_only`)."""
    chosen = None
    for instruction in instructions:
        if stage_only and instruction.keyword == "FROM":
            chosen = None
        if instruction.keyword == keyword:
            chosen = instruction
    return chosen


@dataclass(frozen=True)
class BaseProblem:
    stage: Stage
    text: str
    hint: str


def _repository(ref: str) -> str:
    name = ref.partition("@")[0]
    return name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name


def suggestion(ref: str) -> str:
    """The catalog base of the same repository (e.g. node:24-trixie-slim for node:24-bookworm-slim),
    or the whole catalog's list."""
    repository = _repository(ref)
    tag = ref.partition("@")[0].removeprefix(repository).removeprefix(":")
    offered = [b.ref for b in catalog.CATALOG if b.standin]
    same = [b for b in offered if _repository(b) == repository] or [
        b for b in offered if _repository(b).startswith(repository)
    ]
    same.sort(key=lambda b: not (tag and b.endswith(":" + tag)))  # the same variant first (e.g. :nonroot)
    return same[0] if same else ", ".join(offered)


def base_problems(found: list[Stage]) -> list[BaseProblem]:
    """Bases that are not pinned: no tag (so latest), or latest itself. Any other tag or a digest
    is pinned, in the catalog or not: whether this machine can pull it is the build's business."""
    problems = []
    for stage in found:
        ref = stage.base
        if stage.from_stage or "$" in ref or ref == catalog.SCRATCH:
            continue
        name = ref.partition("@")[0]
        tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else ""
        pin = suggestion(ref)
        if not tag and "@" not in ref:
            problems.append(
                BaseProblem(
                    stage,
                    f"FROM {ref} (line {stage.line}) has no tag, so it means {ref}:latest, which changes "
                    "whenever a new release comes out",
                    f"pin a version tag, e.g. {pin}",
                )
            )
        elif tag == "latest":
            problems.append(
                BaseProblem(
                    stage,
                    f"FROM {ref} (line {stage.line}) is not pinned: latest moves to every new release",
                    f"pin a version tag, e.g. {pin}",
                )
            )
    return problems


__all__ = ["BaseProblem", "Instruction", "Stage", "base_problems", "last", "parse", "read", "stages", "suggestion"]
