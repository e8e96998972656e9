"""A real, private image registry on 127.0.0.1 that requires a login (the catalog's
registry:2 image), started and stopped by the workbook."""

from __future__ import annotations

import base64
import io
import json
import re
import secrets
import shutil
import tarfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
from docker.errors import APIError, NotFound
from docker.models.containers import Container

from helpers.analysis.archive import MAX_JSON
from helpers.catalog import REGISTRY
from helpers.engine import daemon, ledger, proc
from helpers.engine.run import LOOPBACK, free_port, remove_after_use
from helpers.errors import LoginRefused, RegistryError
from helpers.labels import IMAGE_LABEL, image_name, learner, object_labels, object_name
from helpers.replay import replayable


@replayable
@dataclass
class LocalRegistry:
    """`with LocalRegistry() as registry:` starts one; it is removed on exit."""

    user: str = "learner"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    port: int | None = None
    container: Container | None = None
    logged_in: bool = False
    _credentials: tuple[str, str] = ("", "")

    @property
    def host(self) -> str:
        """What image references start with, e.g. 127.0.0.1:5123."""
        if self.port is None:
            raise RegistryError("The local registry is not running", hint="call start() first")
        return f"{LOOPBACK}:{self.port}"

    def ref(self, name: str, tag: str = "latest") -> str:
        return f"{self.host}/{name}:{tag}"

    def start(self, timeout: float = 30) -> LocalRegistry:
        self.port = free_port(self.port)
        try:
            self.container = daemon.client().containers.create(
                REGISTRY,
                name=object_name(f"registry-{self.port}"),
                labels=object_labels(),
                ports={"5000/tcp": (LOOPBACK, self.port)},
                environment={
                    "REGISTRY_AUTH": "htpasswd",
                    "REGISTRY_AUTH_HTPASSWD_REALM": "workbook",
                    "REGISTRY_AUTH_HTPASSWD_PATH": "/auth/htpasswd",
                    "REGISTRY_STORAGE_DELETE_ENABLED": "true",
                },
            )
        except APIError as exc:
            raise RegistryError(
                "The local registry could not be created",
                detail=str(exc.explanation or exc),
                hint="a registry of a notebook kernel that is gone holds its name: run wb.start() again (it removes "
                "what gone kernels left)"
                if exc.status_code == 409
                else "run `python -m helpers bases` so the registry:2 image exists",
            ) from None
        try:  # the container exists: whatever fails (or Ctrl-C) from here on removes it
            self.container.put_archive("/", _htpasswd_tar(self.user, self.password))
            self.container.start()
            self._wait_ready(timeout)
        except BaseException:
            remove_after_use(self.container)  # no tag names it yet: the container is all there is
            self.container = None
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.status() == 401:
                return
            time.sleep(0.2)
        assert self.container is not None
        raise RegistryError(
            "The local registry did not start",
            detail=self.container.logs().decode(errors="replace")[-1500:],
            hint="run `python -m helpers bases` so the registry:2 image exists",
        )

    def stop(self) -> None:
        """Remove the registry (and its storage), and the local names the workbook gave images for
        it (a push, a pull); a tag you added yourself stays."""
        try:
            if self.port is not None:
                self._untag()
        finally:
            if self.container is not None:
                remove_after_use(self.container)
                self.container = None

    def _untag(self) -> None:
        client = daemon.client()
        done = []
        for entry in ledger.entries():
            if not entry.tag.startswith(f"{self.host}/"):
                continue
            try:
                if client.api.inspect_image(entry.tag)["Id"] == entry.image_id:  # not moved to another image
                    client.api.remove_image(entry.tag)
            except NotFound:
                pass  # removed already
            except APIError:
                continue  # in use: cleanup tries again later
            done.append(entry)
        ledger.forget(done)

    def __enter__(self) -> LocalRegistry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- talking to it -------------------------------------------------------------

    def status(self, path: str = "/v2/", auth: tuple[str, str] | None = None) -> int:
        """The HTTP status the registry answers `GET path` with (401: it wants a login; 0: no answer)."""
        request = urllib.request.Request(f"http://{self.host}{path}")
        if auth:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=3) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except (urllib.error.URLError, OSError):
            return 0

    _status = status  # the older name

    def get_json(self, path: str, accept: str = "") -> Any:
        request = urllib.request.Request(f"http://{self.host}{path}")
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        if accept:
            request.add_header("Accept", accept)
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read(MAX_JSON + 1)
        if len(body) > MAX_JSON:
            raise RegistryError(f"The registry's answer to {path} is larger than any manifest or config")
        return json.loads(body)

    def manifest(self, name: str, reference: str = "latest") -> dict[str, Any]:
        """`GET /v2/NAME/manifests/REFERENCE` (a tag or a digest), accepting every kind the
        engine accepts: what the reference names, an image manifest or an index.

        A push from the classic store stores an image manifest. A push from the containerd
        store stores the local image as it is: an index when BuildKit attached an attestation
        (it does by default), listing the image's manifest and the attestation's."""
        return dict(self.get_json(f"/v2/{name}/manifests/{reference}", accept=", ".join(MANIFEST_TYPES)))

    def image_manifest(self, name: str, reference: str = "latest", platform: str | None = None) -> dict[str, Any]:
        """The image manifest (config and layers) that a pull of NAME:REFERENCE for `platform`
        (default: the engine's own) gets: the manifest itself, or the platform's entry of an index."""
        found = self.manifest(name, reference)
        if "manifests" not in found:
            return found
        wanted = (platform or daemon.native_platform()).split("/")
        images = [m for m in found["manifests"] if not _is_attestation(m)]
        for entry in images:
            if [entry.get("platform", {}).get(key) for key in ("os", "architecture")] == wanted[:2]:
                return self.image_manifest(name, entry["digest"], platform)
        raise RegistryError(
            f"{self.host}/{name}:{reference} has no image for {'/'.join(wanted)}",
            detail="platforms: " + ", ".join(f"{m['platform']['os']}/{m['platform']['architecture']}" for m in images),
            hint="pass platform= one of those",
        )

    def catalog(self) -> list[str]:
        return list(self.get_json("/v2/_catalog").get("repositories", []))

    def tags(self, repository: str) -> list[str]:
        return list(self.get_json(f"/v2/{repository}/tags/list").get("tags") or [])

    def login(self, user: str | None = None, password: str | None = None) -> None:
        """Log the engine in (credentials are kept by the helpers, not written to your
        ~/.docker/config.json). Wrong credentials raise LoginRefused."""
        user = self.user if user is None else user
        password = self.password if password is None else password
        try:
            daemon.client().login(username=user, password=password, registry=self.host, reauth=True)
        except APIError as exc:
            self.logged_in = False
            raise LoginRefused(
                f"The registry at {self.host} refused the login of {user!r}",
                detail=exc.explanation or str(exc),
                hint="check the user name and password (registry.user / registry.password)",
            ) from None
        self._credentials = (user, password)
        self.logged_in = True

    def _auth(self) -> dict[str, str] | None:
        if not self.logged_in:
            return None
        user, password = self._credentials
        return {"username": user, "password": password}

    def cli_env(self) -> dict[str, str]:
        """Environment for docker CLI calls against this registry: a private DOCKER_CONFIG
        holding only this registry's login, so your own ~/.docker/config.json is untouched."""
        import os
        import tempfile

        if not self.logged_in:
            raise RegistryError("Log in to the registry first", hint="call registry.login()")
        folder = Path(tempfile.mkdtemp(prefix="workbook-docker-config-"))
        user, password = self._credentials
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        (folder / "config.json").write_text(json.dumps({"auths": {self.host: {"auth": token}}}))
        return {**os.environ, "DOCKER_CONFIG": str(folder)}

    def join_platforms(self, name: str, tag: str, sources: list[str]) -> str:
        """`docker buildx imagetools create -t HOST/name:tag SOURCE...`: one manifest list (an
        image index) over per-platform images already pushed here. Returns its digest."""
        target = self.ref(name, tag)
        env = self.cli_env()
        try:
            proc.run(
                ["docker", "buildx", "imagetools", "create", "-t", target, "--", *sources],
                env=env,
                timeout=300,
                what=f"Joining {', '.join(sources)} into {target} failed",
                hint="push every per-platform image to this registry first",
            )
            return self.inspect_raw(name, tag, env=env)["digest"]
        finally:
            shutil.rmtree(env["DOCKER_CONFIG"], ignore_errors=True)

    def inspect_raw(self, name: str, tag: str, env: dict[str, str] | None = None) -> dict[str, Any]:
        """The manifest (or manifest list) stored under name:tag, plus its digest."""
        own_env = env is None
        env = env or self.cli_env()
        try:
            raw = proc.run(
                ["docker", "buildx", "imagetools", "inspect", "--raw", "--", self.ref(name, tag)], env=env, timeout=120
            ).output
            digest = proc.run(
                [
                    "docker",
                    "buildx",
                    "imagetools",
                    "inspect",
                    "--format",
                    "{{json .Manifest.Digest}}",
                    "--",
                    self.ref(name, tag),
                ],
                env=env,
                timeout=120,
            ).output
        finally:
            if own_env:
                shutil.rmtree(env["DOCKER_CONFIG"], ignore_errors=True)
        return {"manifest": json.loads(raw), "digest": json.loads(digest.strip().splitlines()[-1])}

    def platform_images(self, name: str, tag: str) -> dict[str, str]:
        """The per-platform image manifests under name:tag, `{"linux/amd64": digest, ...}`.

        A single image gives one entry. An index gives one per platform and leaves out the
        attestation manifests (provenance, SBOM) that the containerd image store pushes beside
        each image: they have no platform of their own (`unknown/unknown`)."""
        found = self.inspect_raw(name, tag)
        manifest = found["manifest"]
        if "manifests" not in manifest:
            config = self.get_json(
                f"/v2/{name}/blobs/{manifest['config']['digest']}", accept=manifest["config"]["mediaType"]
            )
            return {f"{config['os']}/{config['architecture']}": found["digest"]}
        return {
            f"{m['platform']['os']}/{m['platform']['architecture']}": m["digest"]
            for m in manifest["manifests"]
            if not _is_attestation(m)
        }

    def attestations(self, name: str, tag: str) -> list[dict[str, Any]]:
        """The attestation manifests an index under name:tag carries (empty for a single image)."""
        manifest = self.inspect_raw(name, tag)["manifest"]
        return [m for m in manifest.get("manifests", []) if _is_attestation(m)]

    def push(self, local_ref: str, name: str, tag: str = "latest") -> str:
        """Tag `local_ref` as HOST/name:tag, push it, and return the digest the registry stores it under.

        From the classic store: the digest of the image manifest the push writes (the image id
        is another digest, that of the image's config). From the containerd store: the local
        image id, since the push sends the image as it is kept (an index, with the attestation
        BuildKit attached); where the local index lacks some platforms' content (a base pulled
        for one platform), the digest of the one platform's manifest the engine pushes instead."""
        target = self.ref(name, tag)
        client = daemon.client()
        image = client.images.get(local_ref)
        image.tag(target)
        ledger.record(str(image.id), target)
        digest = ""
        for event in client.images.push(target, stream=True, decode=True, auth_config=self._auth()):
            if "error" in event:
                raise _push_error(target, event["error"], self.logged_in)
            # The classic store reports the digest in `aux`; the containerd store only in the
            # closing status line "TAG: digest: sha256:... size: N".
            digest = event.get("aux", {}).get("Digest", digest)
            found = _PUSHED_DIGEST.search(str(event.get("status", "")))
            digest = found.group(1) if found and not digest else digest
        return digest

    def pull(self, name: str, tag_or_digest: str = "latest", platform: str | None = None) -> str:
        """Pull HOST/name:tag (or @sha256:...) and return the local image id."""
        return str(self.pull_report(name, tag_or_digest, platform)["image_id"])

    def pull_report(self, name: str, tag_or_digest: str = "latest", platform: str | None = None) -> dict[str, Any]:
        """Pull like `pull`, and say what the pull did with each layer of the image manifest it got:
        `{"image_id": ..., "layers": {short layer digest: "downloaded" | "already here"}}`, in
        manifest order. A layer the engine still keeps (under another image, or in BuildKit's
        build cache) is not downloaded again: `docker pull` says `Already exists`, or (the
        containerd store, for layers under ones it has) nothing at all."""
        separator = "@" if tag_or_digest.startswith("sha256:") else ":"
        reference = f"{self.host}/{name}{separator}{tag_or_digest}"
        client = daemon.client()
        downloaded: set[str] = set()
        try:
            for event in client.api.pull(
                reference, auth_config=self._auth(), platform=platform, stream=True, decode=True
            ):
                if "error" in event:
                    raise APIError(str(event["error"]))
                if event.get("status") == "Download complete":
                    downloaded.add(str(event.get("id", "")))
            image = client.images.get(reference)
        except APIError as exc:
            raise RegistryError(
                f"Pulling {reference} failed",
                detail=exc.explanation or str(exc),
                hint="log in first (registry.login()), and check the name and tag",
            ) from None
        ledger.record(str(image.id), reference)  # a name the workbook made, by tag or (containerd store) by digest
        shorts = [str(layer["digest"])[7:19] for layer in self.image_manifest(name, tag_or_digest, platform)["layers"]]
        return {
            "image_id": str(image.id),
            "layers": {short: "downloaded" if short in downloaded else "already here" for short in shorts},
        }


@replayable
def remove_local(ref: str) -> list[str]:
    """Remove every name the workbook gave the image `ref` names (its `wb-LEARNER/...` tags, and
    the registry names a push or pull recorded), so the image itself is gone from the engine.

    Only an image the workbook built or pulled for this learner is touched; a name you gave it
    yourself stays (and keeps the image). Returns the names removed."""
    client = daemon.client()
    try:
        image = client.images.get(ref)
    except NotFound:
        raise RegistryError(
            f"There is no image {ref} on this engine", hint="check the name (`docker images`)"
        ) from None
    recorded = {entry.tag for entry in ledger.entries() if entry.image_id == image.id}
    ours = (image.labels or {}).get(IMAGE_LABEL) == learner() or bool(recorded)
    if not ours:
        raise RegistryError(
            f"{ref} is not an image the workbook made for {learner()}",
            hint="remove images you made yourself with `docker image rm`",
        )
    namespace = image_name("x", "x").split("/", 1)[0] + "/"
    removed = []
    for tag in image.tags:
        if tag.startswith(namespace) or tag in recorded:
            try:
                client.api.remove_image(tag)
            except NotFound:
                continue  # removed meanwhile
            except APIError as exc:
                raise RegistryError(
                    f"{tag} could not be removed",
                    detail=str(exc.explanation or exc),
                    hint="a container still uses the image: stop and remove it, then try again",
                ) from None
            removed.append(tag)
    ledger.forget([entry for entry in ledger.entries() if entry.tag in removed])
    return removed


_PUSHED_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")

# Every kind of manifest a registry may hold under a tag: an index (OCI, or Docker's manifest
# list) first, then an image manifest (OCI, or Docker's v2). A registry answers a request that
# does not accept the kind it holds with 404 "manifest unknown".
MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)


def _is_attestation(entry: dict[str, Any]) -> bool:
    """An index entry for an attestation manifest (provenance, SBOM), not an image."""
    return (entry.get("annotations") or {}).get("vnd.docker.reference.type") == "attestation-manifest"


def _push_error(target: str, message: str, logged_in: bool) -> RegistryError:
    lowered = message.lower()
    if "no basic auth" in lowered or "unauthorized" in lowered or "authentication required" in lowered:
        hint = (
            "log in first: registry.login() (on the command line: docker login HOST)"
            if not logged_in
            else "your login was refused: check the password"
        )
        return RegistryError(f"The push of {target} was refused: you are not logged in", detail=message, hint=hint)
    if "connection refused" in lowered or "dial tcp" in lowered:
        return RegistryError(
            f"The push of {target} failed: the registry does not answer",
            detail=message,
            hint="start the registry again (registry.start()) and push once more",
        )
    return RegistryError(f"The push of {target} failed", detail=message, hint="read the message above")


def _htpasswd_tar(user: str, password: str) -> bytes:
    line = f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()}\n".encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        folder = tarfile.TarInfo("auth")
        folder.type = tarfile.DIRTYPE
        folder.mode = 0o755
        archive.addfile(folder)
        entry = tarfile.TarInfo("auth/htpasswd")
        entry.size = len(line)
        entry.mode = 0o644
        archive.addfile(entry, io.BytesIO(line))
    return buffer.getvalue()


HUB_ENV = ("DOCKERHUB_USER", "DOCKERHUB_TOKEN")
HUB_SKIPPED = (
    "no login given: set DOCKERHUB_USER and DOCKERHUB_TOKEN before starting JupyterLab",
    "a login is given, but Docker Hub does not answer from this machine (offline or blocked)",
)


@replayable
def docker_hub_push(local_ref: str, name: str, tag: str = "latest") -> dict[str, str]:
    """Push `local_ref` to Docker Hub as USER/name:tag with the login in the environment
    (DOCKERHUB_USER, and DOCKERHUB_TOKEN: an access token), like `docker login` + `docker push`.

    Returns {"skipped": why, in one line, or "", "pushed": the reference, "digest": what the push
    returned, "login": the engine's answer}. A login Docker Hub refuses raises LoginRefused."""
    import os

    user, token = (os.environ.get(key, "") for key in HUB_ENV)
    result = {"skipped": "", "pushed": "", "digest": "", "login": ""}
    if not (user and token):
        result["skipped"] = HUB_SKIPPED[0]
        return result
    client = daemon.client()
    try:
        client.api.inspect_distribution("docker.io/library/busybox:1.37")
    except APIError:
        result["skipped"] = HUB_SKIPPED[1]
        return result
    try:
        answer = client.login(username=user, password=token, registry="https://index.docker.io/v1/", reauth=True)
    except APIError as exc:
        raise LoginRefused(
            f"Docker Hub refused the login of {user!r}",
            detail=exc.explanation or str(exc),
            hint="check DOCKERHUB_USER, and that DOCKERHUB_TOKEN is a valid access token with write access",
        ) from None
    target = f"{user}/{name}:{tag}"
    image = client.images.get(local_ref)
    image.tag(target)
    ledger.record(str(image.id), target)
    auth = {"username": user, "password": token}
    for event in client.images.push(target, stream=True, decode=True, auth_config=auth):
        if "error" in event:
            raise _push_error(target, event["error"], True)
        result["digest"] = event.get("aux", {}).get("Digest", result["digest"])
        found = _PUSHED_DIGEST.search(str(event.get("status", "")))
        result["digest"] = found.group(1) if found and not result["digest"] else result["digest"]
    result.update(pushed=target, login=str(answer.get("Status", "Login Succeeded")))
    return result
