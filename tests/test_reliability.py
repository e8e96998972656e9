"""Reliability: the workbook never touches what it did not create, leaks nothing when a cell
fails or is interrupted, says plainly what went wrong for every bad input, survives faults,
and never runs a privileged container or hands one the engine's socket.

Session-wide checks: this module registers one small pytest hook (see `_SessionOrder`) that
moves `test_sentinel_is_in_place_before_the_suite` to the very start of the session and
`test_sentinel_and_containers_after_the_whole_suite` to its very end. Between them every
test (unit, engine, notebooks) runs with foreign sentinel objects on the engine and a watcher
that inspects every workbook container as it starts.

The tests here build and run as their own learner (`reliability-<pid>`), so their leak checks
and cleanups never see, or remove, what other sessions on the same engine are doing.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pytest
from cli_runner import run_cli
from docker.errors import APIError, NotFound
from docker.types.daemon import CancellableStream

import helpers as wb
import helpers.engine.daemon
from helpers.bases import kit
from helpers.engine import ledger
from helpers.engine.registry import LocalRegistry, LoginRefused, RegistryError
from helpers.labels import IMAGE_LABEL, OBJECT_LABEL, REF_LABEL
from helpers.paths import ROOT, STATE

FIXTURES = Path(__file__).parent / "fixtures"
BUSYBOX = "busybox:1.37"
PYTHON = "python:3.13-slim-trixie"
SERVE = ["python", "-m", "http.server", "8000"]
LEARNER = f"reliability-{os.getpid()}"
ENGINE_DOWN = "tcp://127.0.0.1:9"
ENGINE_RECORD = Path("/var/lib/workbook-engine/engine.json")  # written by scripts/setup-engine.sh
# The daemons scripts/setup-engine.sh starts: socket -> (pid file, log).
WORKBOOK_DAEMONS = {
    "unix:///var/run/docker.sock": (Path("/var/run/docker.pid"), Path("/var/log/workbook-dockerd.log")),
    "unix:///run/docker.sock": (Path("/var/run/docker.pid"), Path("/var/log/workbook-dockerd.log")),
    "unix:///run/workbook-second/docker.sock": (
        Path("/run/workbook-second/docker.pid"),
        Path("/var/log/workbook-dockerd-second.log"),
    ),
}
engine_restarted = threading.Event()  # set by the restart test: containers then have new start times
ENGINE_SOCKET_PATHS = ("/var/run/docker.sock", "/run/docker.sock")

SENTINEL_IMAGE = "sentinel/image:1"
SENTINEL_BOX = "sentinel-box"
SENTINEL_VOLUME = "sentinel-volume"
SENTINEL_NETWORK = "sentinel-net"


# ----------------------------------------------------------------- sentinel objects


@dataclass(frozen=True)
class SentinelState:
    """What must not change: ids, the container running (and not restarted)."""

    image_id: str
    image_tags: tuple[str, ...]
    container_id: str
    container_status: str
    container_started_at: str
    volume_created_at: str
    network_id: str


class Sentinel:
    """An image, a running container, a volume and a network with no workbook labels: a learner's own."""

    def __init__(self) -> None:
        client = wb.client()
        self.remove()  # a leftover of an interrupted earlier run
        image, _ = client.images.build(
            fileobj=io.BytesIO(f"FROM {BUSYBOX}\nRUN echo sentinel > /sentinel.txt\n".encode()),
            tag=SENTINEL_IMAGE,
            rm=True,
            forcerm=True,
        )
        self.image_id = str(image.id)
        self.container = client.containers.run(
            BUSYBOX,
            ["sleep", "86400"],
            detach=True,
            name=SENTINEL_BOX,
            restart_policy={"Name": "unless-stopped"},  # comes back if a fault test restarts the engine
        )
        self.volume = client.volumes.create(SENTINEL_VOLUME)
        self.network = client.networks.create(SENTINEL_NETWORK)
        self.before = self.state()

    def state(self) -> SentinelState:
        client = wb.client()
        image = client.images.get(SENTINEL_IMAGE)
        container = client.containers.get(SENTINEL_BOX)
        return SentinelState(
            image_id=str(image.id),
            image_tags=tuple(sorted(image.tags)),
            container_id=str(container.id),
            container_status=str(container.status),
            container_started_at=str(container.attrs["State"]["StartedAt"]),
            volume_created_at=str(client.volumes.get(SENTINEL_VOLUME).attrs.get("CreatedAt", "")),
            network_id=str(client.networks.get(SENTINEL_NETWORK).id),
        )

    def assert_unchanged(self) -> None:
        now = self.state()
        before = self.before
        if engine_restarted.is_set():  # an engine restart restarts the container (same id, new start time)
            now = SentinelState(**{**vars(now), "container_started_at": before.container_started_at})
        assert now == before, f"a foreign object changed:\nbefore {before}\nnow    {now}"
        assert now.container_status == "running"

    @staticmethod
    def remove() -> None:
        client = wb.client()
        for action in (
            lambda: client.containers.get(SENTINEL_BOX).remove(force=True),
            lambda: client.volumes.get(SENTINEL_VOLUME).remove(force=True),
            lambda: client.networks.get(SENTINEL_NETWORK).remove(),
            lambda: client.images.remove(SENTINEL_IMAGE, force=True),
        ):
            with suppress(NotFound):
                action()


# ----------------------------------------------------------------- container watcher


@dataclass(frozen=True)
class SeenContainer:
    name: str
    learner: str
    image: str
    privileged: bool
    sources: tuple[str, ...]  # host paths mounted into it

    @property
    def has_engine_socket(self) -> bool:
        return any(source.endswith("docker.sock") or source in ENGINE_SOCKET_PATHS for source in self.sources)


@dataclass
class ContainerWatch:
    """Follows the engine's events and inspects every workbook container as it starts."""

    seen: dict[str, SeenContainer] = field(default_factory=dict)
    missed: list[str] = field(default_factory=list)  # gone before they could be inspected
    _stop: threading.Event = field(default_factory=threading.Event)
    _stream: CancellableStream | None = None

    def __post_init__(self) -> None:
        self._client = docker.DockerClient(base_url=wb.engine.docker_host(), version="auto", timeout=30)
        self._since = int(time.time())
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="container-watch", daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _follow(self) -> None:
        while not self._stop.is_set():
            try:
                self._stream = self._client.events(
                    since=self._since,
                    decode=True,
                    filters={"type": "container", "event": "start", "label": OBJECT_LABEL},
                )
                self._ready.set()
                for event in self._stream:
                    self._since = int(event.get("time", self._since))
                    self._inspect(str(event.get("id") or event.get("Actor", {}).get("ID", "")))
            except Exception:  # the engine restarted (fault tests) or the stream was closed
                if self._stop.wait(1):
                    return

    def _inspect(self, container_id: str) -> None:
        if not container_id or container_id in self.seen:
            return
        try:
            attrs = self._client.api.inspect_container(container_id)
        except APIError:
            self.missed.append(container_id[:12])
            return
        self.seen[container_id] = SeenContainer(
            name=str(attrs.get("Name", "")).lstrip("/"),
            learner=str((attrs["Config"].get("Labels") or {}).get(OBJECT_LABEL, "")),
            image=str(attrs["Config"].get("Image", "")),
            privileged=bool(attrs["HostConfig"].get("Privileged")),
            sources=tuple(str(m.get("Source", "")) for m in attrs.get("Mounts") or []),
        )

    def settle(self) -> None:
        """Give the watcher a moment to catch up with containers started just now."""
        time.sleep(1.5)

    def close(self) -> None:
        self._stop.set()
        stream = self._stream
        if stream is not None:
            stream.close()
        self._thread.join(5)
        self._client.close()


def assert_safe(containers: list[SeenContainer]) -> None:
    privileged = [c.name for c in containers if c.privileged]
    socket_mounts = [c.name for c in containers if c.has_engine_socket]
    assert not privileged, f"privileged workbook containers: {privileged}"
    assert not socket_mounts, f"workbook containers given the engine's socket: {socket_mounts}"


# ----------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def reliability_sentinel() -> Iterator[Sentinel]:
    sentinel = Sentinel()
    yield sentinel
    Sentinel.remove()


@pytest.fixture(scope="session")
def reliability_watch() -> Iterator[ContainerWatch]:
    watch = ContainerWatch()
    yield watch
    watch.close()


@pytest.fixture(scope="module", autouse=True)
def reliability_learner(request: pytest.FixtureRequest) -> Iterator[str]:
    """Everything this module makes is labelled for its own learner, and removed afterwards.
    The container watcher runs from the module's first test on (and on to the session's end)."""
    if wb.engine.available():
        request.getfixturevalue("reliability_watch")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WORKBOOK_LEARNER", LEARNER)
        yield LEARNER
        if wb.engine.available():
            wb.cleanup(who=LEARNER)
        shutil.rmtree(STATE / "work" / LEARNER, ignore_errors=True)
        for kept in (ledger.path_for(LEARNER), ledger.path_for(LEARNER).with_suffix(".lock")):
            kept.unlink(missing_ok=True)


def my_containers() -> list[str]:
    """Every container, running or stopped, labelled for this module's learner."""
    found = wb.client().containers.list(all=True, sparse=True, filters={"label": f"{OBJECT_LABEL}={LEARNER}"})
    return [name.lstrip("/") for c in found for name in c.attrs.get("Names") or [c.id]]


def tiny_app(name: str, dockerfile: str) -> Path:
    return wb.make_app(name, {"Dockerfile": dockerfile})


# ----------------------------------------------------------------- sentinel


@pytest.mark.engine
@pytest.mark.session_first
def test_sentinel_is_in_place_before_the_suite(
    reliability_sentinel: Sentinel, reliability_watch: ContainerWatch
) -> None:
    state = reliability_sentinel.state()
    assert state.container_status == "running"
    assert state.image_tags == (SENTINEL_IMAGE,)
    labels = wb.client().images.get(SENTINEL_IMAGE).labels or {}
    assert IMAGE_LABEL not in labels and REF_LABEL not in labels  # (busybox's stand-in labels are inherited)


@pytest.mark.engine
def test_sentinel_survives_a_workbook_flow(reliability_sentinel: Sentinel) -> None:
    app = tiny_app("flow", f'FROM {BUSYBOX}\nRUN echo flow > /flow.txt\nCMD ["cat", "/flow.txt"]\n')
    built = wb.build(app, tag=wb.image_name("flow"), quiet=True)
    assert wb.run_once(built.ref).output.strip() == "flow"
    with wb.run(PYTHON, SERVE, port=8000) as box:
        assert "Directory listing" in box.get("/")
    with LocalRegistry() as registry:
        registry.login()
        assert registry.push(built.ref, "flow/app", "1").startswith("sha256:")
    done = run_cli("cleanup", env={"WORKBOOK_LEARNER": LEARNER}, timeout=300)
    assert done.returncode == 0, done.stderr
    assert re.search(r"removed \d+ containers, \d+ networks, \d+ volumes, [1-9]\d* images", done.stdout), done.stdout
    with pytest.raises(wb.errors.NoSuchImage):
        wb.images.get(built.ref)
    reliability_sentinel.assert_unchanged()


# ----------------------------------------------------------------- no leaks


@pytest.mark.engine
@pytest.mark.parametrize("builder", ["buildkit", "classic"])
def test_build_failing_midway_leaves_no_container(builder: str) -> None:
    marker = f"reliability-midway-{builder}-{os.getpid()}"
    app = tiny_app(
        f"midway-{builder}",
        f'FROM {BUSYBOX}\nRUN echo one > /one.txt\nRUN echo {marker} && exit 7\nRUN echo never\nCMD ["true"]\n',
    )
    with pytest.raises(wb.errors.BuildFailed) as caught:
        wb.build(app, tag=wb.image_name("midway", builder), builder=builder, quiet=True)
    assert caught.value.exit_code == 7 and caught.value.line == 3
    assert my_containers() == []
    # The classic builder runs each RUN in an (unlabelled) intermediate container: none is left.
    everything = wb.client().containers.list(all=True, sparse=True)  # sparse: others' containers may go meanwhile
    leftovers = [c.id for c in everything if marker in str(c.attrs.get("Command", ""))]
    assert leftovers == []


@pytest.fixture
def sigint_raises() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt, as in a notebook (make or nohup may have set it to ignore)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _interrupt_when_running(stop: threading.Event) -> None:
    """Send this process SIGINT (Ctrl-C in a notebook) once one of our containers runs."""
    client = docker.DockerClient(base_url=wb.engine.docker_host(), version="auto")
    try:
        while not stop.wait(0.1):
            running = {"label": f"{OBJECT_LABEL}={LEARNER}", "status": "running"}
            if client.containers.list(sparse=True, filters=running):
                os.kill(os.getpid(), signal.SIGINT)
                return
    finally:
        client.close()


@pytest.mark.engine
@pytest.mark.parametrize("when", ["in the cell body", "while waiting for readiness"])
def test_interrupted_run_leaves_no_container(when: str, sigint_raises: None) -> None:
    stop = threading.Event()
    with pytest.raises(KeyboardInterrupt):
        if when == "in the cell body":
            with wb.run(BUSYBOX, ["sleep", "300"], wait_http=None) as box:
                assert box.status() == "running"
                signal.raise_signal(signal.SIGINT)
                time.sleep(30)  # never reached: the interrupt arrives first
        else:
            interrupter = threading.Thread(target=_interrupt_when_running, args=(stop,), daemon=True)
            interrupter.start()
            try:
                with wb.run(BUSYBOX, ["sleep", "300"], wait_log="never printed", timeout=120):
                    pass
            finally:
                stop.set()
                interrupter.join(5)
    assert my_containers() == []


@pytest.mark.engine
@pytest.mark.parametrize(
    ("case", "healthcheck", "says"),
    [
        ("unhealthy", 'HEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD ["false"]', "reported unhealthy"),
        # Docker 28 runs the first probe right after the start: this one never answers, so the
        # container stays "starting" (a failure inside the start period does not count).
        (
            "never-answers",
            'HEALTHCHECK --interval=1h --timeout=1h --start-period=1h CMD ["sleep", "3600"]',
            "not become ready within 10 s",
        ),
    ],
)
def test_container_that_never_becomes_healthy_leaves_nothing(case: str, healthcheck: str, says: str) -> None:
    app = tiny_app(f"health-{case}", f'FROM {BUSYBOX}\n{healthcheck}\nCMD ["sleep", "300"]\n')
    ref = wb.build(app, tag=wb.image_name("health", case), quiet=True).ref
    with pytest.raises(wb.errors.ContainerFailed) as caught, wb.run(ref, wait_healthy=True, timeout=10):
        pass
    assert says in str(caught.value)
    assert "Traceback" not in str(caught.value)
    assert my_containers() == []


# ----------------------------------------------------------------- bad input: one clear paragraph


@dataclass
class Ctx:
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]
    tmp_path: Path


@dataclass(frozen=True)
class BadInput:
    id: str
    call: Callable[[Ctx], str]
    says: tuple[str, ...]  # fragments the message must hold (case-insensitive)
    engine: bool = True


def paragraph(error: wb.errors.WorkbookError) -> str:
    """The error's one paragraph: what failed (and where), then what to try."""
    text = str(error)
    assert text == error.paragraph()
    assert "What to try:" in text, text
    return text


def raised(action: Callable[[], object]) -> str:
    """The message of the error `action` raises; a non-workbook error fails the case."""
    try:
        action()
    except wb.errors.WorkbookError as error:
        return paragraph(error)
    except Exception as error:
        pytest.fail(f"not a workbook error, but {type(error).__module__}.{type(error).__name__}: {error}")
    pytest.fail("no error was raised")


def broken(dockerfile: str) -> Callable[[Ctx], str]:
    return lambda _ctx: raised(
        lambda: wb.build(FIXTURES / "broken", dockerfile, quiet=True, tag=wb.image_name("bad-input", "broken"))
    )


def engine_down_doctor(_ctx: Ctx) -> str:
    done = run_cli("doctor", env={"DOCKER_HOST": ENGINE_DOWN})
    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr
    return done.stdout


def engine_down_build(ctx: Ctx) -> str:
    ctx.monkeypatch.setenv("DOCKER_HOST", ENGINE_DOWN)
    ctx.monkeypatch.setattr(helpers.engine.daemon, "_client", None)
    helpers.engine.daemon._context_host.cache_clear()
    try:
        return raised(lambda: wb.build("hello-python", quiet=True, tag=wb.image_name("bad-input", "down")))
    finally:
        helpers.engine.daemon._context_host.cache_clear()


AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def as_unprivileged_user(args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run `python ARGS` with the helpers as uid 65534 (nobody), not in the docker group."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("switching to an unprivileged user needs root and setpriv")
    if not wb.engine.docker_host().startswith("unix://"):
        pytest.skip("the engine is not reached through a local socket")
    home = Path(tempfile.mkdtemp(prefix="workbook-nobody-"))
    home.chmod(0o777)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "MPLCONFIGDIR": str(home),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), sysconfig.get_paths()["purelib"]]),
    }
    try:
        # The venv's interpreter may live where nobody can read it (/root/...): then the
        # system's Python of the same version runs the same helpers and packages.
        for python in (sys.executable, f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"):
            probe = subprocess.run(
                [*AS_NOBODY, python, "-c", "import helpers"], env=env, cwd=ROOT, capture_output=True, check=False
            )
            if probe.returncode == 0:
                return subprocess.run(
                    [*AS_NOBODY, python, *args],
                    env=env,
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    timeout=180,
                    check=False,
                )
        pytest.skip("no Python interpreter that an unprivileged user may run imports the helpers")
    finally:
        shutil.rmtree(home, ignore_errors=True)


def no_permission_doctor(_ctx: Ctx) -> str:
    done = as_unprivileged_user(["-m", "helpers", "doctor"])
    if done.returncode == 0:
        pytest.skip("the engine's socket is open to every user here")
    assert "Traceback" not in done.stdout + done.stderr
    return done.stdout + done.stderr


def no_permission_build(_ctx: Ctx) -> str:
    code = (
        "import helpers as wb\n"
        "try:\n"
        "    wb.build('hello-python', quiet=True)\n"
        "except wb.errors.WorkbookError as error:\n"
        "    print(error)\n"
        "else:\n"
        "    print('NO ERROR')\n"
    )
    done = as_unprivileged_user(["-c", code])
    if "NO ERROR" in done.stdout:
        pytest.skip("the engine's socket is open to every user here")
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    return done.stdout


def port_in_use(ctx: Ctx) -> str:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        with wb.run(PYTHON, SERVE, port=8000, host_port=taken) as box:
            assert box.host_port != taken
            assert "Directory listing" in box.get("/")
            chosen = box.host_port
    printed = ctx.capsys.readouterr().out
    assert f"Port {taken} on 127.0.0.1 is in use; using {chosen} instead." in printed
    return printed


def invalid_reference_run(_ctx: Ctx) -> str:
    return raised(lambda: wb.run_once("UPPER/Case::bad"))


def invalid_reference_tag(_ctx: Ctx) -> str:
    return raised(lambda: wb.build("hello-python", tag="bad tag", quiet=True))


def unknown_platform(_ctx: Ctx) -> str:
    return raised(
        lambda: wb.build("hello-python", platform="linux/nonsense", quiet=True, tag=wb.image_name("bad-input", "pf"))
    )


def login_refused(_ctx: Ctx) -> str:
    with LocalRegistry() as registry:
        with pytest.raises(LoginRefused) as caught:
            registry.login(password="wrong")
        assert not registry.logged_in
    return paragraph(caught.value)


def corrupted_kit(ctx: Ctx) -> str:
    kit_file = ctx.tmp_path / "classroom.kit"
    kit.save(kit_file, [BUSYBOX], say=lambda _line: None)
    data = bytearray(kit_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged = ctx.tmp_path / "damaged.kit"
    damaged.write_bytes(bytes(data))
    return raised(lambda: kit.load(damaged, say=lambda _line: None))


def mounting(volumes: object) -> Callable[[Ctx], str]:
    """run_once with these volumes (refused before any container exists)."""
    return lambda _ctx: raised(lambda: wb.run_once(BUSYBOX, ["true"], volumes=volumes))  # type: ignore[arg-type]


def socket_behind_symlink(ctx: Ctx) -> str:
    link = ctx.tmp_path / "innocent-looking"
    link.symlink_to("/var/run/docker.sock")  # resolved, whether or not a socket is there
    return raised(lambda: wb.run_once(BUSYBOX, ["true"], volumes={str(link): {"bind": "/data", "mode": "ro"}}))


def docker_host_folder(ctx: Ctx) -> str:
    folder = ctx.tmp_path / "engine"
    folder.mkdir()
    ctx.monkeypatch.setenv("DOCKER_HOST", f"unix://{folder}/engine.sock")
    return raised(lambda: wb.run_once(BUSYBOX, ["true"], volumes={str(folder): {"bind": "/e", "mode": "ro"}}))


def host_network_run(_ctx: Ctx) -> str:
    def enter() -> None:
        with wb.run(BUSYBOX, ["sleep", "5"], wait_http=None, network="host"):
            pass

    return raised(enter)


def learner_without_letters(ctx: Ctx) -> str:
    ctx.monkeypatch.setenv("WORKBOOK_LEARNER", "!!!")
    return raised(lambda: wb.start("00-start-here"))


SOCKET_REFUSED = ("never mounts the engine's socket", "root on the host")

BAD_INPUTS = [
    BadInput(
        "missing-dockerfile",
        lambda _ctx: raised(lambda: wb.build("hello-python", "Dockerfile.nope")),
        ("There is no Dockerfile.nope in hello-python", "Dockerfiles there: Dockerfile"),
        engine=False,
    ),
    BadInput("syntax-error", broken("Dockerfile.syntax"), ("line 2", "RUNN", "fix the Dockerfile syntax")),
    BadInput("copy-missing-file", broken("Dockerfile.copy-missing"), ("no-such-file.txt", "COPY", ".dockerignore")),
    BadInput("run-fails", broken("Dockerfile.run-fails"), ("exit code 3", "line 2", "about to fail")),
    BadInput("base-missing-offline", broken("Dockerfile.base-missing"), ("alpine:3.23", "python -m helpers bases")),
    BadInput(
        "engine-down-doctor",
        engine_down_doctor,
        ("No Docker engine answers", ENGINE_DOWN, "start a Docker engine", "cannot run real builds"),
        engine=False,
    ),
    BadInput(
        "engine-down-build",
        engine_down_build,
        ("No Docker engine answers", f"Where: {ENGINE_DOWN}", "start a Docker engine"),
        engine=False,
    ),
    BadInput(
        "no-permission-doctor",
        no_permission_doctor,
        ("permission", "docker` group"),
    ),
    BadInput("no-permission-build", no_permission_build, ("permission denied", "docker` group")),
    BadInput("port-in-use", port_in_use, ("is in use; using", "instead")),
    BadInput(
        "invalid-reference-run",
        invalid_reference_run,
        ("UPPER/Case::bad", "invalid reference"),
    ),
    BadInput("invalid-reference-tag", invalid_reference_tag, ('invalid tag "bad tag"', "invalid reference format")),
    BadInput(
        "unknown-platform",
        unknown_platform,
        ("linux/nonsense", "platform"),
    ),
    BadInput("login-refused", login_refused, ("refused the login of 'learner'", "check the user name and password")),
    BadInput("corrupted-kit", corrupted_kit, ("is damaged", "checksum", "nothing was loaded")),
    BadInput(
        "socket-folder", mounting({"/var/run": {"bind": "/r", "mode": "ro"}}), (*SOCKET_REFUSED, "/var/run"), False
    ),
    BadInput(
        "socket-root",
        mounting({"/": {"bind": "/host", "mode": "ro"}}),
        (*SOCKET_REFUSED, "folder that holds it"),
        False,
    ),
    BadInput("socket-double-slash", mounting({"//var/run/docker.sock": {"bind": "/s"}}), SOCKET_REFUSED, engine=False),
    BadInput("socket-symlink", socket_behind_symlink, (*SOCKET_REFUSED, "innocent-looking"), engine=False),
    BadInput(
        "socket-tuple-volume",
        mounting((("/run/docker.sock", {"bind": "/s", "mode": "rw"}),)),
        (*SOCKET_REFUSED, "/run/docker.sock"),
        engine=False,
    ),
    BadInput("socket-string-volume", mounting(["/run/docker.sock:/s:rw"]), SOCKET_REFUSED, engine=False),
    BadInput("socket-docker-host-path", docker_host_folder, (*SOCKET_REFUSED, "engine.sock"), engine=False),
    BadInput("network-host-run", host_network_run, ('network="host"', "port="), engine=False),
    BadInput(
        "network-host-run-once",
        lambda _ctx: raised(lambda: wb.run_once(BUSYBOX, ["true"], network="host")),
        ('network="host"', "127.0.0.1"),
        engine=False,
    ),
    BadInput(
        "learner-without-letters",
        learner_without_letters,
        ("'!!!'", "letter or a digit", "WORKBOOK_LEARNER="),
        engine=False,
    ),
]


def _bad_input_param(case: BadInput) -> object:
    return pytest.param(case, id=case.id, marks=[pytest.mark.engine] if case.engine else [])


@pytest.mark.parametrize("case", [_bad_input_param(case) for case in BAD_INPUTS])
def test_bad_input_gives_one_clear_paragraph(
    case: BadInput, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    if case.id == "base-missing-offline" and "alpine:3.23" in wb.bases.present_refs():
        pytest.skip("alpine:3.23 is on this engine: the base is not missing")
    message = case.call(Ctx(monkeypatch, capsys, tmp_path))
    assert message.strip(), "the message is empty"
    assert "Traceback" not in message
    missing = [fragment for fragment in case.says if fragment.lower() not in message.lower()]
    assert not missing, f"the message lacks {missing}:\n{message}"


# ----------------------------------------------------------------- faults


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _engine_answers() -> bool:
    """`docker info` succeeds; a starting dockerd may hold the call until it serves (or past 10 s)."""
    env = {**os.environ, "DOCKER_HOST": wb.engine.docker_host()}
    try:
        return subprocess.run(["docker", "info"], capture_output=True, env=env, timeout=10, check=False).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def _workbooks_daemon() -> tuple[int, list[str], Path] | str:
    """The dockerd the workbook's set-up started and the tests use: (pid, its command line, its
    log); or why there is none (then the engine may be a learner's own, never restarted)."""
    try:
        record = json.loads(ENGINE_RECORD.read_bytes()[:4096])
    except (OSError, ValueError) as exc:
        return f"the engine was not started by the workbook's set-up ({ENGINE_RECORD}: {exc})"
    if not isinstance(record, dict) or record.get("started_by_workbook") is not True:
        return f"the engine was not started by the workbook's set-up ({ENGINE_RECORD} does not say so)"
    host = wb.engine.docker_host()
    if host not in WORKBOOK_DAEMONS:
        return f"the engine at {host} is not one the workbook's set-up starts"
    pid_file, log = WORKBOOK_DAEMONS[host]
    try:
        pid = int(pid_file.read_text()[:20].strip())
        argv = Path(f"/proc/{pid}/cmdline").read_bytes()[:4096].decode().split("\0")[:-1]
    except (OSError, ValueError) as exc:
        return f"no running dockerd behind {pid_file} ({exc})"
    if not argv or Path(argv[0]).name != "dockerd":
        return f"process {pid} (from {pid_file}) is not dockerd: {argv[:1]}"
    if os.geteuid() != 0:
        return "restarting dockerd needs root"
    return pid, argv, log


def _restart_dockerd(pid: int, argv: list[str], log: Path) -> None:
    """Stop dockerd and start it again as it was started (same command line, same log, detached,
    in this process's network namespace, as scripts/setup-engine.sh does); wait until it answers."""
    engine_restarted.set()
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not Path(f"/proc/{pid}").exists(), "dockerd did not stop within 60 s"
    detached = f"setsid {shlex.join(argv)} >>{shlex.quote(str(log))} 2>&1 </dev/null &"
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    subprocess.run(["sh", "-c", detached], env=env, check=True, timeout=30)
    deadline = time.monotonic() + 180  # it prepares BuildKit before it answers: 40 s on a busy machine here
    while not _engine_answers():
        assert time.monotonic() < deadline, f"dockerd did not answer within 180 s; see {log}"
        time.sleep(1)


@pytest.mark.engine
@pytest.mark.timeout(600)
def test_engine_restarted_mid_run_then_helpers_reconnect() -> None:
    """Runs only on a daemon the workbook's set-up started (never a learner's own); in CI a
    missing precondition fails the test instead of skipping it."""
    daemon = _workbooks_daemon()
    if isinstance(daemon, str):
        if _in_ci():
            pytest.fail(f"CI must run the engine-restart test: {daemon}", pytrace=False)
        pytest.skip(f"restarts the engine: {daemon}")
    app = tiny_app("restart", f"FROM {BUSYBOX}\nRUN echo before > /state.txt\n")
    ref = wb.build(app, tag=wb.image_name("restart", "before"), quiet=True).ref
    with wb.run(BUSYBOX, ["sleep", "300"], wait_http=None) as box:
        assert box.status() == "running"
        _restart_dockerd(*daemon)
    assert wb.images.table([ref]).loc[0, "image"] == ref  # reconnects: helpers.engine.client() re-pings
    (app / "Dockerfile").write_text(f"FROM {BUSYBOX}\nRUN echo after > /state.txt\n")
    after = wb.build(app, tag=wb.image_name("restart", "after"), quiet=True)
    assert wb.run_once(after.ref, ["cat", "/state.txt"]).output.strip() == "after"
    assert my_containers() == []


@pytest.mark.engine
def test_registry_down_during_push_says_so() -> None:
    ref = wb.build(tiny_app("push", f"FROM {BUSYBOX}\nRUN echo push > /push.txt\n"), quiet=True).ref
    with LocalRegistry() as registry:
        registry.login()
        assert registry.container is not None
        registry.container.stop(timeout=1)
        with pytest.raises(RegistryError) as caught:
            registry.push(ref, "wb/app", "down")
    text = str(caught.value)
    assert "the registry does not answer" in text and "start the registry again" in text, text
    assert "Traceback" not in text


# ----------------------------------------------------------------- security

OPTIMIZED = [
    ("node-app", "Dockerfile", 3000),
    ("flask-app", "Dockerfile", 5000),
    ("go-app", "Dockerfile.distroless", 8080),
    ("go-app", "Dockerfile.scratch", 8080),
]


@pytest.mark.engine
@pytest.mark.parametrize(("app", "dockerfile", "port"), OPTIMIZED, ids=[f"{a}/{d}" for a, d, _ in OPTIMIZED])
def test_optimized_app_images_run_as_non_root(app: str, dockerfile: str, port: int) -> None:
    ref = wb.build(app, dockerfile, quiet=True).ref
    user = wb.images.config(ref)["User"]
    assert user and user.split(":")[0] not in ("root", "0"), f"{app}/{dockerfile} sets USER {user!r}"
    with wb.run(ref, port=port, timeout=60) as box:
        top = box.container.top(ps_args="-o uid,pid,comm")
        column = [title.upper() for title in top["Titles"]].index("UID")
        uids = {row[column] for row in top["Processes"]}
        assert uids and "0" not in uids, f"{app}/{dockerfile} runs processes as {uids}"
        host_config = wb.client().api.inspect_container(box.container.id)["HostConfig"]
        assert host_config["Privileged"] is False


@pytest.mark.engine
def test_local_registry_requires_a_login() -> None:
    with LocalRegistry() as registry:
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"http://{registry.host}/v2/", timeout=5)
        assert caught.value.code == 401
        assert "Basic" in caught.value.headers.get("WWW-Authenticate", "")
        assert registry._status("/v2/", auth=(registry.user, registry.password)) == 200


@pytest.mark.engine
def test_this_modules_containers_were_never_privileged_nor_given_the_socket(
    reliability_watch: ContainerWatch,
) -> None:
    """Every container the flows above started (runs, registries, app servers), inspected as it ran."""
    reliability_watch.settle()
    ours = [c for c in reliability_watch.seen.values() if c.learner == LEARNER]
    assert any(c.image == "registry:2" for c in ours), "the watcher saw no registry container"
    assert any(c.image == PYTHON for c in ours), "the watcher saw no wb.run container"
    assert_safe(ours)


@pytest.mark.engine
@pytest.mark.session_last
def test_sentinel_and_containers_after_the_whole_suite(
    reliability_sentinel: Sentinel, reliability_watch: ContainerWatch
) -> None:
    """Moved to the end of the session: foreign objects survived every test and notebook, and no
    workbook container of the session was privileged or got the engine's socket."""
    reliability_sentinel.assert_unchanged()
    reliability_watch.settle()
    assert reliability_watch.seen, "the watcher saw no workbook container"
    assert_safe(list(reliability_watch.seen.values()))
