"""HW3 · a multi-stage build for a Go app: the final image is at most 25 MB, holds no Go
toolchain and still answers on port 8080."""

from __future__ import annotations

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


@step("the build")
def builds(check: Check) -> bool:
    stages = dockerfile.stages(check.instructions or [])
    if len(stages) > 1:
        check.feedback.ok(f"{len(stages)} stages: {stages[0].base} to build, {stages[-1].base} to run")
    return build_image(check, check.tag())


@step("the final image", "the running container")
def final_image_serves(check: Check) -> bool:
    feedback, result, final_base = check.feedback, check.built, _final_base(check)
    files = probe.image_files(result.ref)
    toolchain = _toolchain(files)
    program = _program(images.config(result.ref)).lstrip("/")
    if result.size_mb <= GO_SIZE_LIMIT_MB:
        feedback.ok(f"the final image is {result.size_mb:.1f} MB (the limit is {GO_SIZE_LIMIT_MB:.0f} MB)")
    elif toolchain:
        feedback.fail(
            f"the final image is {result.size_mb:.0f} MB because the whole Go toolchain is in it "
            f"(/{toolchain[0]}: {toolchain[1] / 1e6:.0f} MB, on top of the compilers and tools of {final_base})",
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
            "the final stage must not be FROM golang: only the compiled binary is needed at run time",
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
    builds,
    final_image_serves,
)


def check(work: str | Path | None = None) -> Feedback:
    return check_folder("hw3", work, STEPS)
