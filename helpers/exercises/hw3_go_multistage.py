"""HW3 · a multi-stage build for a Go app: built from the Go sources alone (a binary compiled on
the learner's machine never reaches the image), the binary is compiled in a build stage of the
Dockerfile and copied into the final stage, which is at most 25 MB, holds no Go toolchain and
still answers on port 8080."""

from __future__ import annotations

import re
from pathlib import Path

from helpers import catalog
from helpers.engine import images
from helpers.exercises import dockerfile, probe
from helpers.exercises.checks import (
    Check,
    build_image,
    check_folder,
    check_serving,
    check_user,
    log_hint,
    read_dockerfile,
    size_under,
    step,
)
from helpers.exercises.feedback import Feedback

GO_PORT, GO_BODY, GO_SIZE_LIMIT_MB = 8080, "Hello from a Go binary!", 25.0
SMALL_BASES = "scratch (empty), gcr.io/distroless/static-debian13 (about 1 MB) or busybox:1.37 (about 2 MB)"
SOURCES = ("go.mod", "go.sum", "*.go")  # all the check builds from
BUILD_HINT = (
    "compile the binary in a build stage of your Dockerfile (FROM golang:1.27-trixie AS build, then "
    "RUN CGO_ENABLED=0 go build -o /out/hello .) and COPY --from=build /out/hello into the final stage"
)
_GO_BUILD = re.compile(r"\bgo\s+(build|install)\b")


def _toolchain(files: dict[str, int]) -> tuple[str, int] | None:
    """The Go toolchain's root folder in an image's files and its size, if it is there."""
    roots = {path.split("/pkg/tool/", 1)[0] for path in files if "/pkg/tool/" in path}
    roots |= {path.removesuffix("/bin/go") for path in files if path.endswith("/bin/go")}
    if not roots:
        return None
    root = max(roots, key=lambda r: size_under(files, r))
    return root, size_under(files, root)


def _program(config: dict[str, object]) -> str:
    entry = config.get("Entrypoint") or []
    command = config.get("Cmd") or []
    parts = [
        str(p) for p in (entry if isinstance(entry, list) and entry else command if isinstance(command, list) else [])
    ]
    if parts[:2] == ["/bin/sh", "-c"] and len(parts) > 2:
        return parts[2].split()[0] if parts[2].split() else ""
    return parts[0] if parts else ""


def _final_base(check: Check) -> str:
    return dockerfile.stages(check.instructions or [])[-1].base


def _by_stage(instructions: list[dockerfile.Instruction]) -> list[list[dockerfile.Instruction]]:
    """The instructions of each stage (before the first FROM: none)."""
    stages: list[list[dockerfile.Instruction]] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def _copies_from(instruction: dockerfile.Instruction) -> str | None:
    """The stage a COPY --from=X names, or None."""
    for word in instruction.value.split():
        if word.startswith("--from="):
            return word.removeprefix("--from=")
    return None


def _copies_whole_stage(check: Check) -> str | None:
    """The stage whose whole filesystem the final stage copies (COPY --from=X / ...), or None."""
    stages = _by_stage(check.instructions or [])
    for instruction in stages[-1] if stages else []:
        source = _copies_from(instruction)
        words = [w for w in instruction.value.split() if not w.startswith("--")]
        if instruction.keyword == "COPY" and source and words[:1] in (["/"], ["/."]):
            return source
    return None


@step()
def multi_stage(check: Check) -> bool:
    """Read from the Dockerfile: a build stage that runs go build, a final stage that copies from it."""
    feedback = check.feedback
    found = dockerfile.stages(check.instructions or [])
    per_stage = _by_stage(check.instructions or [])
    compiling = [
        index
        for index, instructions in enumerate(per_stage[:-1])
        if any(i.keyword == "RUN" and _GO_BUILD.search(i.value) for i in instructions)
    ]
    names = {str(index) for index in compiling} | {
        found[index].name.lower() for index in compiling if found[index].name
    }
    copied = [i for i in per_stage[-1] if i.keyword == "COPY" and (_copies_from(i) or "").lower() in names]
    if len(found) < 2 and per_stage and any(i.keyword == "RUN" and _GO_BUILD.search(i.value) for i in per_stage[0]):
        feedback.fail(
            "the Dockerfile has one stage, so the image that runs the server is the image that compiled it",
            "make it a multi-stage build: " + BUILD_HINT,
        )
    elif len(found) < 2:
        feedback.fail(
            "the Dockerfile has one stage and compiles nothing: the task is a multi-stage build whose first stage "
            "compiles the binary from the sources",
            BUILD_HINT,
        )
    elif not compiling:
        feedback.fail(
            f"{len(found)} stages, but none before the last runs go build: the binary must be compiled in a build "
            "stage of this Dockerfile, from the sources",
            BUILD_HINT,
        )
    elif not copied:
        feedback.fail(
            f"the final stage (FROM {found[-1].base}) copies nothing from the stage that compiles "
            f"(FROM {found[compiling[-1]].base})",
            "COPY --from=<that stage's name> the binary into the final stage",
        )
    else:
        feedback.ok(
            f"{len(found)} stages: go build in FROM {found[compiling[-1]].base}, the final stage FROM "
            f"{found[-1].base} copies from it"
        )
    return True


@step("the build")
def builds(check: Check) -> bool:
    return build_image(check, check.tag())


@step("the final image", "the running container")
def final_image_serves(check: Check) -> bool:
    feedback, result, final_base = check.feedback, check.built, _final_base(check)
    files = probe.image_files(result.ref)
    toolchain = _toolchain(files)
    program = _program(images.config(result.ref)).lstrip("/")
    if result.size_mb <= GO_SIZE_LIMIT_MB:
        feedback.ok(f"the final image is {result.size_mb:.1f} MB (the limit is {GO_SIZE_LIMIT_MB:.0f} MB)")
    elif toolchain and (whole := _copies_whole_stage(check)):
        feedback.fail(
            f"the final image is {result.size_mb:.0f} MB because the whole Go toolchain is in it "
            f"(/{toolchain[0]}: {toolchain[1] / 1e6:.0f} MB): COPY --from={whole} / / copies the build stage's whole "
            "filesystem into the final stage, compilers and build tools included",
            f"copy only the binary: COPY --from={whole} /out/hello /hello (the path your go build -o wrote)",
        )
    elif toolchain:
        feedback.fail(
            f"the final image is {result.size_mb:.0f} MB because the whole Go toolchain is in it "
            f"(/{toolchain[0]}: {toolchain[1] / 1e6:.0f} MB, with the rest of {final_base}: C compiler, build tools)",
            "copy only the binary into a small final stage: end the Dockerfile with a second FROM "
            f"({SMALL_BASES}) and COPY --from=<build stage> the binary",
        )
    else:
        binary = files.get(program, 0)
        base_mb = images.size_mb(final_base) if catalog.in_catalog(final_base) and final_base != "scratch" else 0
        feedback.fail(
            f"the final image is {result.size_mb:.0f} MB, over the {GO_SIZE_LIMIT_MB:.0f} MB limit: the binary is "
            f"{binary / 1e6:.1f} MB, the rest comes from the final base {final_base} ({base_mb:.0f} MB)",
            f"use a smaller final base: {SMALL_BASES}; a binary built with CGO_ENABLED=0 needs nothing else",
        )
    if toolchain:
        feedback.fail(
            f"the final image still contains the Go toolchain (the go command in /{toolchain[0]})",
            f"COPY --from={_copies_whole_stage(check)} only the binary, not /: only it is needed at run time"
            if _copies_whole_stage(check)
            else "the final stage must not be FROM golang: only the compiled binary is needed at run time",
        )
    else:
        feedback.ok("the final image holds no Go toolchain (no go command, no compiler)")

    def exit_hint(served: probe.Served) -> str:
        logs = served.logs.lower()
        if "no such file or directory" in logs and program and program in files:
            return (
                f"/{program} is in the image, yet it cannot start: it is linked against the C library, which the "
                "final base does not have. Build a static binary: RUN CGO_ENABLED=0 go build ..."
            )
        return log_hint(served.logs)

    served = probe.serve(result.ref, GO_PORT)
    if served.start_error and program and program not in files and check.left_out:
        feedback.fail(
            f"the container could not start: /{program} is not in the image. The check builds from the Go sources "
            f"only, so what your folder holds besides them ({', '.join(check.left_out)}) is left out, a binary "
            "compiled on your machine included",
            BUILD_HINT,
        )
        return True
    if check_serving(
        feedback, served, GO_BODY, f"the server listens on $PORT (8080 when unset): keep it {GO_PORT}", exit_hint
    ):
        check_user(
            feedback,
            served,
            "add USER 65532:65532 to the final stage (scratch has no user names; "
            "gcr.io/distroless/static-debian13:nonroot already runs as 65532)",
        )
    return True


STEPS = (
    read_dockerfile("start from the one-stage Dockerfile of the starter folder", bases=True),
    multi_stage,
    builds,
    final_image_serves,
)


def check(work: str | Path | None = None) -> Feedback:
    return check_folder("hw3", work, STEPS, SOURCES, BUILD_HINT)
