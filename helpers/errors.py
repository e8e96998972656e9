"""Every error a learner can meet, each with one paragraph they can act on.

WorkbookError
├── EngineUnavailable        no Docker engine answers
├── CommandFailed            a command (docker CLI, debootstrap, ...) exited non-zero
├── BuildFailed              a Dockerfile build failed at a known step
├── NoSuchImage              an image reference is not on the engine
├── BaseUnavailable          a catalog base can be neither pulled nor made here
├── ContainerFailed          a container exited or never became ready
├── RegistryError            a push, pull or login against a registry failed
│   └── LoginRefused         the registry refused the user name or password
├── KitError                 a classroom kit could not be saved or loaded
│   └── KitMissing           there is no kit file at that path
├── EmptyImage               the image has no filesystem layer to analyse
├── ExportFailed             the engine would not `docker save` the image
├── SecurityIndexUnavailable Debian's security archive gave no usable package index
├── InvalidInput             a bad argument (reference, path, platform, file, ...)
│   ├── ArchiveMissing       an image archive that is not there
│   ├── ArchiveTruncated     an image archive that ends too early
│   ├── NotAnImageArchive    a file that is not an image archive
│   └── BadRecording         a replay recording that is corrupt or not the workbook's
├── NotRecorded              replay mode was asked for what the recording does not hold
└── ReplayedError            an error recorded in a real run whose class is not rebuilt here
"""

from __future__ import annotations


class WorkbookError(Exception):
    """Base of every helper error: says what failed, where, and what to try."""

    def __init__(self, what: str, *, where: str = "", detail: str = "", hint: str = "") -> None:
        self.what = what
        self.where = where
        self.detail = detail
        self.hint = hint
        super().__init__(self.paragraph())

    def __str__(self) -> str:
        return self.paragraph()

    def paragraph(self) -> str:
        parts = [self.what.rstrip(".") + "."]
        if self.where:
            parts.append(f"Where: {self.where}.")
        if self.detail:
            parts.append(f"Details:\n{self.detail.rstrip()}")
        if self.hint:
            parts.append(f"What to try: {self.hint}")
        return "\n".join(parts)


class EngineUnavailable(WorkbookError):
    """No Docker engine answered."""


class CommandFailed(WorkbookError):
    """A subprocess failed; carries the command, its exit code and its last output lines."""

    def __init__(
        self,
        what: str,
        *,
        command: list[str],
        exit_code: int | None,
        output_tail: str,
        where: str = "",
        hint: str = "",
    ) -> None:
        self.command = command
        self.exit_code = exit_code
        self.output_tail = output_tail
        code = "timed out" if exit_code is None else f"exit code {exit_code}"
        detail = f"$ {' '.join(command)}  ({code})\n{output_tail}".rstrip()
        super().__init__(what, where=where, detail=detail, hint=hint)


class BuildFailed(WorkbookError):
    """A Dockerfile build failed; carries the failing step, line and log tail."""

    def __init__(
        self,
        what: str,
        *,
        step: str = "",
        line: int | None = None,
        exit_code: int | None = None,
        log_tail: str = "",
        where: str = "",
        hint: str = "",
    ) -> None:
        self.step = step
        self.line = line
        self.exit_code = exit_code
        self.log_tail = log_tail
        super().__init__(what, where=where, detail=log_tail, hint=hint)


class NoSuchImage(WorkbookError):
    """An image reference is not present on the engine."""


class BaseUnavailable(WorkbookError):
    """A catalog base image can neither be pulled nor honestly made here."""


class ContainerFailed(WorkbookError):
    """A container exited early, failed its health check or never answered."""


class InvalidInput(WorkbookError):
    """An argument the helpers cannot use as given."""


class ArchiveMissing(InvalidInput, FileNotFoundError):
    """An image archive that is not there (replay mode then answers from the recording)."""


class ReplayedError(WorkbookError):
    """An error recorded in a real run whose own class cannot be rebuilt here."""

    def __init__(self, recorded_class: str, text: str) -> None:
        self.recorded_class = recorded_class
        super().__init__(f"The recorded run raised {recorded_class}", detail=text)


class NotRecorded(WorkbookError):
    """Replay mode was asked for something the recording does not hold."""


class RegistryError(WorkbookError):
    """A push, pull or login against a registry failed."""


class LoginRefused(RegistryError):
    """The registry refused the user name or password."""


class KitError(WorkbookError):
    """A classroom kit could not be saved or loaded."""


class KitMissing(KitError, FileNotFoundError):
    """There is no kit file at the path given."""


class EmptyImage(WorkbookError):
    """The image has no filesystem layer at all (e.g. FROM scratch with only metadata)."""


class ExportFailed(WorkbookError):
    """The engine would not export (`docker save`) the image."""


class ArchiveTruncated(InvalidInput):
    """The archive ends before its last member is complete."""


class NotAnImageArchive(InvalidInput):
    """The file is not a tar archive, or a tar archive without an image manifest."""


class BadRecording(InvalidInput):
    """A replay recording that is corrupt, truncated or holds what the workbook never writes."""


class SecurityIndexUnavailable(WorkbookError):
    """Debian's security archive did not give a usable package index."""
