"""What the docker CLI itself says about retired ways: the legacy builder and removed commands.

`wb.build(..., builder="classic")` drives the legacy builder through the engine's API, where no
notice is printed; the deprecation notice comes from the `docker build` command-line client when
`DOCKER_BUILDKIT=0` is set, so `cli_build()` runs that client. `cli_command()` runs one docker
subcommand to show whether this CLI still has it (`docker scan` is gone).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from helpers.engine import daemon, ledger, proc
from helpers.errors import InvalidInput
from helpers.labels import image_labels, image_name
from helpers.paths import app_dir
from helpers.replay import replayable

_WORD = re.compile(r"[a-z][a-z0-9-]{0,30}")


@replayable
def cli_build(app: str | Path, *, tag: str | None = None, timeout: float = 600) -> proc.Completed:
    """`DOCKER_BUILDKIT=0 docker build -t TAG APP`: the CLI's legacy builder, its output and exit code."""
    context = app_dir(app)
    if not (context / "Dockerfile").is_file():
        raise InvalidInput(f"There is no Dockerfile in {context.name}", where=str(context))
    ref = tag or image_name(context.name, "legacy")
    docker_client = daemon.client()  # fail early and plainly when no engine answers
    command = ["docker", "build", "-t", ref]
    for key, value in image_labels(ref).items():
        command += ["--label", f"{key}={value}"]
    command.append(str(context))
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    done = proc.run(command, timeout=timeout, check=False, env=env)
    if done.exit_code == 0:
        ledger.record(str(docker_client.images.get(ref).id), ref)  # cleanup removes it later
    return done


@replayable
def cli_command(subcommand: str, *, timeout: float = 60) -> proc.Completed:
    """`docker SUBCOMMAND` with no arguments: its output and exit code. A command this CLI does not
    have answers `docker: unknown command: docker SUBCOMMAND` (meant for removed commands like `scan`)."""
    if not _WORD.fullmatch(subcommand):
        raise InvalidInput(f"{subcommand!r} is not a docker subcommand name", hint="pass one word, e.g. 'scan'")
    return proc.run(["docker", subcommand], timeout=timeout, check=False)


__all__ = ["cli_build", "cli_command"]
