"""Helpers that drive real Docker builds for the Docker Images & Dockerfiles workbook.

Notebooks import this package one way only: `import helpers as wb`.
"""

from . import catalog, charts, images
from .bases import ensure_bases
from .bases import present_refs as bases_present
from .build import BuildResult, build, buildx, buildx_available
from .cleanup import cleanup
from .doctor import table as doctor_table
from .engine import CLASSIC, CONTAINERD, client, docker_host, image_store
from .engine import available as engine_available
from .errors import (
    BaseUnavailable,
    BuildFailed,
    CommandFailed,
    ContainerFailed,
    EngineUnavailable,
    ImageNotFound,
    InvalidInput,
    WorkbookError,
)
from .labels import image_name, learner, object_name
from .notebook import check, show, show_errors_plainly
from .paths import APPS, ROOT, app_dir, make_app, work_copy
from .replay import engine_call, local_first, mode, start
from .replay import install as _install_replay
from .run import RunningContainer, RunOutput, free_port, run, run_once
from .tokens import fresh_token

__all__ = [
    "APPS",
    "CLASSIC",
    "CONTAINERD",
    "ROOT",
    "BaseUnavailable",
    "BuildFailed",
    "BuildResult",
    "CommandFailed",
    "ContainerFailed",
    "EngineUnavailable",
    "ImageNotFound",
    "InvalidInput",
    "RunOutput",
    "RunningContainer",
    "WorkbookError",
    "app_dir",
    "bases_present",
    "build",
    "buildx",
    "buildx_available",
    "catalog",
    "charts",
    "check",
    "cleanup",
    "client",
    "docker_host",
    "doctor_table",
    "engine_available",
    "engine_call",
    "ensure_bases",
    "free_port",
    "fresh_token",
    "image_name",
    "image_store",
    "images",
    "learner",
    "local_first",
    "make_app",
    "mode",
    "object_name",
    "run",
    "run_once",
    "show",
    "show_errors_plainly",
    "start",
    "work_copy",
]

# Last: route engine-touching helpers through the live/record/replay session.
_install_replay()
