"""Helpers that drive real Docker builds for the Docker Images & Dockerfiles workbook.

Notebooks use them one way: `import helpers as wb`, then `wb.<name>` or `wb.<module>.<name>`.
The names below are the lessons' everyday verbs; the modules hold the rest. Every error a
learner can meet is in `wb.errors`. ARCHITECTURE.md maps the package.
"""

from helpers import bases, catalog, engine, errors, exercises, labels
from helpers.analysis import archive, buildcontext, charts, compare, explorer, layerfiles, lint, sbom, secretscan, vulns
from helpers.bases import kit
from helpers.classroom.doctor import table as doctor
from helpers.classroom.notebook import check, show
from helpers.classroom.session import start
from helpers.classroom.tokens import fresh_token
from helpers.engine import buildchecks, fileserver, images, legacy, outputs, platforms, registry, saveload
from helpers.engine.build import BuildResult, build
from helpers.engine.cleanup import cleanup
from helpers.engine.daemon import CLASSIC, CONTAINERD, image_store
from helpers.engine.daemon import lesson_client as client
from helpers.engine.run import RunningContainer, RunOutput, free_port, run, run_once
from helpers.exercises import inventory
from helpers.labels import image_name, learner
from helpers.paths import app_dir, make_app, work_copy
from helpers.replay import mode, replayable

__all__ = [
    # the lessons' everyday names
    "CLASSIC",
    "CONTAINERD",
    "BuildResult",
    "RunOutput",
    "RunningContainer",
    "app_dir",
    # modules
    "archive",
    "bases",
    "build",
    "buildchecks",
    "buildcontext",
    "catalog",
    "charts",
    "check",
    "cleanup",
    "client",
    "compare",
    "doctor",
    "engine",
    "errors",
    "exercises",
    "explorer",
    "fileserver",
    "free_port",
    "fresh_token",
    "image_name",
    "image_store",
    "images",
    "inventory",
    "kit",
    "labels",
    "layerfiles",
    "learner",
    "legacy",
    "lint",
    "make_app",
    "mode",
    "outputs",
    "platforms",
    "registry",
    "replayable",
    "run",
    "run_once",
    "saveload",
    "sbom",
    "secretscan",
    "show",
    "start",
    "vulns",
    "work_copy",
]
