"""HW4 · push your image to a registry, with the docker CLI.

`start()` builds the image, starts a private registry that needs a login and makes a
workbook-private DOCKER_CONFIG; it shows the registry's address, the credentials and the exact
environment to use in a terminal. The learner runs `docker login`, `docker tag` and
`docker push` there. `check()` then reads the registry's state only: it never reads or runs
what the learner typed. It checks that anonymous access is refused, that the login went into
the private DOCKER_CONFIG, that homework/hello:1.0 is there, and that it is the local image
(compared by what both image stores can compare, see `_same_image`)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.engine import daemon, images, proc
from helpers.engine.registry import MANIFEST_TYPES, LocalRegistry
from helpers.errors import WorkbookError
from helpers.exercises.assignments import SOLUTIONS
from helpers.exercises.checks import build_image
from helpers.exercises.checks import start as start_check
from helpers.exercises.feedback import Feedback
from helpers.labels import learner
from helpers.paths import STATE

NAME, TAG = "homework/hello", "1.0"
TITLE = "HW4 · push your image to a registry"
MAX_MANIFEST = 4 << 20
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_ANSWER = re.compile(r"(?:(?P<host>[A-Za-z0-9.-]+:\d+)/)?(?:(?P<name>[a-z0-9._/-]+)@)?(?P<digest>sha256:[0-9a-f]{64})")


@dataclass
class PushTask:
    """A running HW4 registry and what the learner needs to push to it."""

    registry: LocalRegistry
    image: str
    docker_config: Path

    def env(self) -> dict[str, str]:
        """The variables to set in the terminal: the private DOCKER_CONFIG (never ~/.docker), the
        registry, the image, the credentials, and the engine when it is not the default one."""
        found = {
            "DOCKER_CONFIG": str(self.docker_config),
            "REGISTRY": self.registry.host,
            "IMAGE": self.image,
            "HW4_USER": self.registry.user,
            "HW4_PASSWORD": self.registry.password,
        }
        if os.environ.get("DOCKER_HOST"):
            found["DOCKER_HOST"] = os.environ["DOCKER_HOST"]
        return found


_RUNNING: dict[str, PushTask] = {}


def running() -> PushTask | None:
    """The learner's HW4 task, while its registry runs."""
    return _RUNNING.get(learner())


def _config_folder() -> Path:
    return STATE / "work" / learner() / "hw4" / "docker-config"


def start(work: str | Path | None = None, *, image: str | None = None) -> Feedback:
    """Build the folder's image (or take `image`), start the registry, make the private
    DOCKER_CONFIG, and say what to set in a terminal."""
    stop()
    started = start_check("hw4", work)
    if isinstance(started, Feedback):
        return started
    started.feedback.task = TITLE + ": your registry"
    feedback = started.feedback
    if image is None:
        if not build_image(started, started.tag()):
            return feedback
        image = started.built.ref
    else:
        try:
            images.get(image)
        except WorkbookError as error:
            feedback.fail(f"there is no image {image} on this engine", error.hint or "build it first")
            return feedback
    folder = _config_folder()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"auths": {}}\n')
    try:
        registry = LocalRegistry().start()
    except WorkbookError as error:
        feedback.fail(f"the registry could not start: {error.what}", error.hint or "read the message")
        return feedback
    task = PushTask(registry, image, folder)
    _RUNNING[learner()] = task
    feedback.ok(
        f"a private registry runs at {registry.host}: user {registry.user}, password {registry.password}",
    )
    feedback.ok(f"the image to push: {image}")
    feedback.ok(
        f"your DOCKER_CONFIG for this task: {folder} (empty; your own ~/.docker stays untouched)",
        detail="In a terminal, set these first (copy them as they are):\n"
        + "\n".join(f"export {key}={value}" for key, value in task.env().items()),
    )
    feedback.tip(
        "then log in, tag and push with the docker CLI (homework/hw4-push/README.md lists the steps)",
        f"push {NAME}:{TAG}; then run wb.exercises.check_hw4() (optionally with the digest reference docker push "
        "printed)",
    )
    return feedback


def stop() -> None:
    """Remove the learner's HW4 registry and its private DOCKER_CONFIG."""
    task = _RUNNING.pop(learner(), None)
    if task is not None:
        task.registry.stop()
        shutil.rmtree(task.docker_config, ignore_errors=True)


def push_reference() -> str:
    """Run the reference solution (solutions/hw4/push.sh, the workbook's own script) against the
    running registry, in the task's environment; return the digest reference docker push printed."""
    task = running()
    if task is None:
        raise WorkbookError("There is no HW4 registry running", hint="run wb.exercises.start_hw4() first")
    output = proc.run(
        ["bash", str(SOLUTIONS / "hw4" / "push.sh")],
        env={**os.environ, **task.env()},
        timeout=300,
        what="The HW4 reference solution failed",
    ).output
    found = re.findall(rf"{re.escape(TAG)}: digest: ({_DIGEST.pattern})", output)
    if not found:
        raise WorkbookError("docker push printed no digest", detail=output[-1500:])
    return f"{task.registry.host}/{NAME}@{found[-1]}"


# -- reading the registry ------------------------------------------------------------------


def _get(task: PushTask, path: str, *, login: bool = True) -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://{task.registry.host}{path}")
    request.add_header("Accept", ", ".join(MANIFEST_TYPES))
    if login:
        token = base64.b64encode(f"{task.registry.user}:{task.registry.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), response.read(MAX_MANIFEST)
    except urllib.error.HTTPError as error:
        return int(error.code), b""
    except (urllib.error.URLError, OSError):
        return 0, b""


def _manifest(task: PushTask, reference: str) -> tuple[str, dict[str, Any]] | None:
    """(digest, manifest) of NAME:reference, the digest computed from the bytes stored."""
    status, body = _get(task, f"/v2/{NAME}/manifests/{reference}")
    if status != 200:
        return None
    return "sha256:" + hashlib.sha256(body).hexdigest(), json.loads(body)


@dataclass(frozen=True)
class Stored:
    """What the registry holds under NAME:TAG: the tag's digest, the digest of this platform's
    image manifest (the same when the tag names an image manifest, not an index), and the
    digest of the config that manifest names."""

    digest: str
    platform_manifest: str
    config: str
    index: bool


def _stored(task: PushTask) -> Stored | None:
    top = _manifest(task, TAG)
    if top is None:
        return None
    digest, manifest = top
    platform_digest, image_manifest = digest, manifest
    if "manifests" in manifest:
        wanted = daemon.native_platform().split("/")
        for entry in manifest["manifests"]:
            platform = entry.get("platform") or {}
            if [platform.get("os"), platform.get("architecture")] == wanted[:2]:
                found = _manifest(task, entry["digest"])
                if found:
                    platform_digest, image_manifest = found
                break
    config = str((image_manifest.get("config") or {}).get("digest", ""))
    return Stored(digest, platform_digest, config, "manifests" in manifest)


def _same_image(task: PushTask, stored: Stored) -> tuple[bool, str]:
    """Whether the pushed image is the local one, and how that was told.

    What can be compared differs by image store. containerd store: the local image id is the
    digest of an index (the image's manifest and BuildKit's attestation); a push sends that index
    when all of it is present, so the tag's digest is the image id; when a platform is absent
    (a base pulled for one platform) it sends the present platform's manifest alone. Either way
    this platform's manifest digest (images.platform_digest) is the same on both sides. Classic
    store: there are no local manifests: the push writes a new one, so the tag's digest is
    new; the image id is the digest of the config, which the stored manifest names."""
    local_id = str(images.get(task.image).id)
    local = images.platform_digest(task.image)
    if stored.digest == local_id:
        return True, f"the tag's digest {stored.digest[:19]}… is the local image's id: the push sent it as it is kept"
    if stored.platform_manifest == local:
        return True, (
            f"its {daemon.native_platform()} manifest {local[:19]}… is the local image's (the push sent that "
            "platform's manifest)"
        )
    if stored.config == local_id:
        return True, (
            f"the manifest names the config {local_id[:19]}…, which is the local image's id (the classic store "
            "keeps no manifest: the push wrote one, so the tag's digest is new)"
        )
    return False, f"its config {stored.config[7:19]} and manifest {stored.platform_manifest[7:19]}"


def _logged_in_privately(task: PushTask) -> bool:
    path = task.docker_config / "config.json"
    try:
        text = path.read_text(errors="replace")[:MAX_MANIFEST] if path.is_file() else ""
        auths = json.loads(text).get("auths") if text else None
    except ValueError:
        return False
    return isinstance(auths, dict) and task.registry.host in auths


def check(answer: str | None = None) -> Feedback:
    """Check the running registry; `answer` (optional) is the digest reference docker push
    printed, e.g. 127.0.0.1:5123/homework/hello@sha256:… (or the digest alone)."""
    feedback = Feedback(TITLE, "the registry of wb.exercises.start_hw4()")
    task = running()
    if task is None or task.registry.port is None:
        feedback.fail(
            "there is no HW4 registry running",
            "start it with wb.exercises.start_hw4(): it prints the address, the credentials and the DOCKER_CONFIG",
        )
        feedback.skip("the login", "the push", "the pushed image")
        return feedback
    host = task.registry.host
    feedback.folder = f"registry {host}"
    anonymous, _ = _get(task, f"/v2/{NAME}/tags/list", login=False)
    if anonymous == 401:
        feedback.ok("the registry refuses anonymous access (HTTP 401 without a login)")
    else:
        feedback.fail(
            f"the registry answered {anonymous or 'nothing'} to a request without a login, not 401",
            "restart it with wb.exercises.start_hw4()",
        )
    if _logged_in_privately(task):
        feedback.ok(f"docker login stored your login for {host} in the workbook's DOCKER_CONFIG, not in ~/.docker")
    else:
        feedback.fail(
            f"the workbook's DOCKER_CONFIG ({task.docker_config}) holds no login for {host}",
            f"in the terminal, export DOCKER_CONFIG={task.docker_config} first, then docker login {host} "
            f"-u {task.registry.user}. (Logged in without it? docker logout {host} removes the login from ~/.docker)",
        )
    status, body = _get(task, f"/v2/{NAME}/tags/list")
    tags = (json.loads(body).get("tags") or []) if status == 200 and body else []
    stored = _stored(task) if TAG in tags else None
    if stored is None:
        others = _listing(task)
        feedback.fail(
            f"{host}/{NAME}:{TAG} is not in the registry"
            + (f"; it holds {', '.join(others)}" if others else ": nothing arrived"),
            f"docker tag $IMAGE {host}/{NAME}:{TAG}, then docker push {host}/{NAME}:{TAG} (after docker login)",
        )
        feedback.skip("the pushed image")
        return feedback
    feedback.ok(f"the registry holds {NAME}:{TAG} (digest {stored.digest[:19]}…)")
    same, how = _same_image(task, stored)
    if same:
        feedback.ok(f"{NAME}:{TAG} is the image you were given ({task.image}): {how}")
    else:
        feedback.fail(
            f"{NAME}:{TAG} is not the image you were given ({task.image}): {how} belong to another image",
            f"docker tag {task.image} {host}/{NAME}:{TAG}, then push again",
        )
    if answer is not None:
        _check_answer(feedback, task, stored, answer)
    return feedback


def _listing(task: PushTask) -> list[str]:
    status, body = _get(task, "/v2/_catalog")
    repositories = (json.loads(body).get("repositories") or []) if status == 200 and body else []
    found = []
    for repository in repositories[:20]:
        status, body = _get(task, f"/v2/{repository}/tags/list")
        found += [f"{repository}:{tag}" for tag in (json.loads(body).get("tags") or [])] if status == 200 else []
    return found


def _check_answer(feedback: Feedback, task: PushTask, stored: Stored, answer: str) -> None:
    """The answer is matched against one pattern, never run: [HOST/]NAME@sha256:… or sha256:…"""
    shown = str(answer).strip()[:120]
    found = _ANSWER.fullmatch(answer.strip()) if isinstance(answer, str) and len(answer) < 400 else None
    if found is None:
        feedback.fail(
            f"your answer {shown!r} is not a digest reference",
            f"give what docker push printed after `digest:`, as {task.registry.host}/{NAME}@sha256:…",
        )
        return
    host, name, digest = found.group("host"), found.group("name"), found.group("digest")
    if host not in (None, task.registry.host) or name not in (None, NAME):
        feedback.fail(
            f"your answer names {host or task.registry.host}/{name or NAME}, not {task.registry.host}/{NAME}",
            f"answer with {task.registry.host}/{NAME}@<the digest docker push printed>",
        )
    elif digest in (stored.digest, stored.platform_manifest):
        feedback.ok(f"your answer {task.registry.host}/{NAME}@{digest[:19]}… names exactly what the registry stores")
    else:
        feedback.fail(
            f"your answer's digest {digest[:19]}… is not what the registry stores under {NAME}:{TAG} "
            f"({stored.digest[:19]}…)",
            "copy the digest from the last line of docker push (TAG: digest: sha256:… size: N)",
        )


__all__ = ["PushTask", "Stored", "check", "push_reference", "running", "start", "stop"]
