"""Make sure every catalog base is on the engine: pulled when a registry answers, else an
honest stand-in built here (see helpers.standins), else reported as unavailable."""

from __future__ import annotations

import io
import shutil
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from docker.errors import APIError, ImageNotFound, NotFound

from helpers.bases import rootfs
from helpers.bases.extra_ca import extra_ca
from helpers.bases.standins import EXTRA_CA_FILE, RECIPES, Recipe
from helpers.catalog import CATALOG, DEBIAN, SCRATCH, Base, normalize
from helpers.engine import daemon, images, proc
from helpers.engine.run import remove_container
from helpers.errors import BaseUnavailable, BuildFailed
from helpers.labels import STANDIN_LABEL, STANDIN_VERSIONS_LABEL, object_labels
from helpers.replay import replayable

Say = Callable[[str], None]

PULLED, STANDIN, MISSING, UNAVAILABLE = "pulled", "stand-in", "missing", "unavailable offline"


@dataclass
class BaseStatus:
    ref: str
    state: str
    versions: str = ""
    size_mb: float | None = None
    seconds: float | None = None  # time to pull or build it in this run


@replayable
def status(base: Base) -> BaseStatus:
    """What the engine holds for one catalog base, without changing anything."""
    ref = normalize(base.ref)
    try:
        image = daemon.client().images.get(ref)
    except ImageNotFound:
        return BaseStatus(base.ref, MISSING if base.standin else UNAVAILABLE)
    labels = image.labels or {}
    state = STANDIN if labels.get(STANDIN_LABEL) == base.ref else PULLED
    return BaseStatus(base.ref, state, labels.get(STANDIN_VERSIONS_LABEL, ""), images.unpacked_bytes(image) / 1e6)


@replayable
def statuses() -> list[BaseStatus]:
    return [status(base) for base in CATALOG]


@replayable
def registry_answers(ref: str = "busybox:1.37") -> bool:
    """True when the engine can reach a registry (asks for one manifest; fails fast offline)."""
    try:
        daemon.client().api.inspect_distribution(ref)
    except (APIError, NotFound):
        return False
    return True


@replayable
def ensure_bases(say: Say = print, *, only: list[str] | None = None, workers: int = 1) -> list[BaseStatus]:
    """Pull or build every missing catalog base; present ones are reused as they are. With
    workers > 1, bases whose own bases are ready are pulled or built side by side."""
    wanted = [b for b in CATALOG if only is None or b.ref in only or normalize(b.ref) in only]
    results: dict[str, BaseStatus] = {}
    absent: list[tuple[str, Base]] = []
    for number, base in enumerate(_in_build_order(wanted), start=1):
        current = status(base)
        prefix = f"[{number}/{len(wanted)}] {base.ref}"
        if current.state in (PULLED, STANDIN):
            say(f"{prefix}: present ({current.state}, {current.size_mb:.0f} MB)")
            results[base.ref] = current
        else:
            absent.append((prefix, base))
    if absent:
        online = registry_answers()
        say(
            "A registry answers: pulling real images."
            if online
            else "No registry answers: building stand-ins from Debian packages."
        )
        if workers <= 1:  # in this thread, as notebooks prepare their bases: Ctrl-C stops the build
            for prefix, base in absent:
                results[base.ref] = _provide(base, prefix, online, [], say)
        else:
            results.update(_side_by_side(absent, online, workers, _one_line_at_a_time(say)))
    return [results[b.ref] for b in wanted if b.ref in results]


def _side_by_side(absent: list[tuple[str, Base]], online: bool, workers: int, say: Say) -> dict[str, BaseStatus]:
    """Bases provided by `workers` threads. Submitted in build order, so a base starts only after
    the bases it needs have started: a worker waiting for one never waits for a task still queued
    behind it. The first failure stops what has not started and is raised once the rest is done."""
    started: dict[str, Future[BaseStatus]] = {}
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="base")
    try:
        for prefix, base in absent:
            needed = [started[normalize(n)] for n in base.needs if normalize(n) in started and not online]
            started[normalize(base.ref)] = pool.submit(_provide, base, prefix, online, needed, say)
        wait(started.values(), return_when=FIRST_EXCEPTION)
    finally:  # after a failure or Ctrl-C, what has not started never starts
        pool.shutdown(wait=True, cancel_futures=True)
    return {base.ref: started[normalize(base.ref)].result() for _, base in absent}


def _one_line_at_a_time(say: Say) -> Say:
    """`say` for several threads: each line whole (print writes a line and its end separately)."""
    lock = threading.Lock()

    def locked(line: str) -> None:
        with lock:
            say(line)

    return locked


def _provide(base: Base, prefix: str, online: bool, needed: list[Future[BaseStatus]], say: Say) -> BaseStatus:
    """Pull one base, or build its stand-in once the bases it is built FROM (`needed`) are there."""
    for need in needed:
        need.result()  # a failed need fails this base too, with the need's error
    started = time.monotonic()
    if online:
        say(f"{prefix}: pulling")
        daemon.client().images.pull(normalize(base.ref))
    elif base.standin is None:
        say(f"{prefix}: unavailable offline (no honest stand-in can be made here)")
        return status(base)
    else:
        say(f"{prefix}: building a stand-in")
        _build_standin(base, lambda line: say(f"  [{base.ref}] {line.strip()}"))  # builds may interleave
    done = status(base)
    done.seconds = time.monotonic() - started
    versions = done.versions or "versions as pulled"
    say(f"{prefix}: {done.state}, {done.size_mb:.0f} MB in {done.seconds:.0f} s ({versions})")
    return done


def _in_build_order(bases: list[Base]) -> list[Base]:
    """Bases ordered so each stand-in comes after the bases it is built FROM."""
    from helpers.catalog import BY_REF

    ordered: list[Base] = []

    def visit(base: Base) -> None:
        for need in base.needs:
            visit(BY_REF[normalize(need)])
        if base not in ordered:
            ordered.append(base)

    for base in bases:
        visit(base)
    return [b for b in ordered if b in bases or status(b).state == MISSING]


def _build_standin(base: Base, say: Say) -> None:
    ref = normalize(base.ref)
    if base.ref == DEBIAN:
        rootfs.build_debian(ref, say)
        return
    assert base.standin is not None
    recipe = RECIPES[base.standin]
    with tempfile.TemporaryDirectory(prefix="workbook-standin-") as tmp:
        context = Path(tmp)
        dockerfile, labels = _prepare_context(recipe, context, say)
        (context / "Dockerfile").write_text(dockerfile)
        _classic_build(context, ref, recipe.target, {STANDIN_LABEL: base.ref, **labels}, say)
    versions = _probe(ref, recipe)
    relabel = f'FROM {ref}\nLABEL {STANDIN_VERSIONS_LABEL}="{versions}"\n'
    with tempfile.TemporaryDirectory(prefix="workbook-label-") as tmp:
        (Path(tmp) / "Dockerfile").write_text(relabel)
        _classic_build(Path(tmp), ref, None, {}, lambda _line: None)


def _prepare_context(recipe: Recipe, context: Path, say: Say) -> tuple[str, dict[str, str]]:
    """The build context's parts and its Dockerfile, with the labels the image must carry."""
    dockerfile, labels = recipe.dockerfile, {}
    (context / "ca").mkdir()
    extra = extra_ca()  # only its CERTIFICATE blocks; a file holding a private key is refused
    if extra:
        (context / "ca" / EXTRA_CA_FILE).write_bytes(extra.pem)
        if "COPY ca/" in dockerfile:
            labels = extra.labels
            say(f"  trusting the host's extra CA ({extra.count} certificates) from {extra.source}")
    else:
        dockerfile = "\n".join(line for line in dockerfile.splitlines() if "NODE_EXTRA_CA_CERTS" not in line) + "\n"
    if "node" in recipe.context:
        _unpack_npm_package(_node_package(), context / "node", say)
        _unpack_npm_package("npm@11", context / "npm", say)
    return dockerfile, labels


def _node_package() -> str:
    arch = daemon.client().info().get("Architecture", "x86_64")
    name = {"x86_64": "x64", "aarch64": "arm64"}.get(arch)
    if name is None:
        raise BaseUnavailable(
            f"No official Node.js binary package for {arch}",
            hint="use a machine with x86_64 or arm64, or a classroom kit",
        )
    return f"node-linux-{name}@24"


def _unpack_npm_package(spec: str, destination: Path, say: Say) -> None:
    """`npm pack` a package from the npm registry and unpack its `package/` folder."""
    say(f"  npm pack {spec}")
    with tempfile.TemporaryDirectory(prefix="workbook-npm-") as tmp:
        proc.run(
            ["npm", "pack", spec, "--silent"],
            cwd=tmp,
            timeout=600,
            what=f"Could not fetch {spec} from the npm registry",
            hint="install npm (`sudo apt-get install npm`) and check the network",
        )
        (tarball,) = Path(tmp).glob("*.tgz")
        with tarfile.open(tarball) as archive:
            archive.extractall(tmp, filter="tar")
        shutil.copytree(Path(tmp) / "package", destination, symlinks=True)
        for unwanted in ("share/doc", "share/man", "include/node/openssl"):
            shutil.rmtree(destination / unwanted, ignore_errors=True)


def _classic_build(context: Path, ref: str, target: str | None, labels: dict[str, str], say: Say) -> None:
    """A classic (non-BuildKit) build, so stand-ins need nothing but the engine."""
    log: list[str] = []
    api = daemon.client().api
    for chunk in api.build(
        path=str(context),
        tag=ref,
        target=target,
        labels=labels,
        rm=True,
        forcerm=True,
        decode=True,
        network_mode="host",
    ):
        if "stream" in chunk:
            for line in chunk["stream"].splitlines():
                log.append(line)
                if line.startswith("Step "):
                    say(f"  {line[:110]}")
        if "error" in chunk:
            raise BuildFailed(
                f"The stand-in for {ref} failed to build",
                where=f"stand-in recipe for {ref}",
                log_tail="\n".join([*log[-15:], chunk["error"]]),
                hint="check that the Debian mirror and the npm registry are reachable "
                "(builds use them), then run `python -m helpers bases` again",
            )


def _probe(ref: str, recipe: Recipe) -> str:
    """Ask the image which versions it holds."""
    client = daemon.client()
    if recipe.probe:
        container = client.containers.create(
            ref, entrypoint=["sh", "-c"], command=[recipe.probe], labels=object_labels(), network_mode="none"
        )
    else:
        container = client.containers.create(ref, command=["/none"], labels=object_labels())
    try:
        if recipe.probe:
            container.start()
            container.wait(timeout=60)
            return container.logs().decode().strip().replace('"', "'")
        stream, _ = container.get_archive("/etc/debian_version")
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
            member = archive.extractfile("debian_version")
            version = member.read().decode().strip() if member else "?"
        return f"files from debian {version} (base-files, ca-certificates, tzdata, netbase)"
    finally:
        remove_container(str(container.id))  # and its anonymous volumes (the registry stand-in has one)


@replayable
def present_refs() -> set[str]:
    """Catalog references available to FROM here (scratch always is)."""
    return {s.ref for s in statuses() if s.state in (PULLED, STANDIN)} | {SCRATCH}


def copy_to(host: str, say: Say = print) -> list[str]:
    """Move the catalog bases present here into the engine at `host` (`docker save | docker load`).

    The two image stores keep separate images: building the stand-ins once and moving them is
    faster than building them again. Bases the other engine has already are left as they are."""
    import docker

    target = docker.DockerClient(base_url=host, timeout=600)
    wanted = []
    for base_status in statuses():
        if base_status.state not in (PULLED, STANDIN):
            continue
        try:
            target.images.get(normalize(base_status.ref))
        except ImageNotFound:
            wanted.append(normalize(base_status.ref))
    if not wanted:
        say(f"every base is on {host} already")
        return []
    say(f"moving {len(wanted)} bases to {host}: {', '.join(wanted)}")
    started = time.monotonic()
    proc.pipe(
        ["docker", "save", "--", *wanted],
        ["docker", "--host", host, "load", "--quiet"],
        timeout=1800,
        what=f"Could not move the base images to {host}",
        hint="check that both engines answer (`docker info`, `docker --host HOST info`) and have free disk",
    )
    say(f"moved in {time.monotonic() - started:.0f} s")
    return wanted
