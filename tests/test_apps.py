"""The sample apps under apps/: every Dockerfile variant builds for real, runs, answers, and
holds what the lessons say it holds (size, user, files)."""

from __future__ import annotations

import io
import re
import shutil
import tarfile
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

import helpers as wb

pytestmark = pytest.mark.engine

BROKEN = Path(__file__).parent / "fixtures" / "apps-broken"
APPS = ("c-hello", "flask-app", "go-app", "node-app")
GO_HELLO = "Hello from Go in Docker! (linux/{arch})\n"
# Files the engine itself adds to every container's filesystem; not part of the image.
ENGINE_FILES = {".dockerenv", "dev/console", "etc/hostname", "etc/hosts", "etc/mtab", "etc/resolv.conf"}

Build = Callable[..., wb.BuildResult]


def variant_of(dockerfile: str) -> str:
    return dockerfile.removeprefix("Dockerfile").lstrip(".") or "latest"


@pytest.fixture(scope="module")
def build() -> Build:
    """Build each (app, Dockerfile, platform, target) once per module, under test tags."""
    built: dict[tuple[str, str, str | None, str | None], wb.BuildResult] = {}

    def get(app: str, dockerfile: str = "Dockerfile", platform: str | None = None, target: str | None = None):
        key = (app, dockerfile, platform, target)
        if key not in built:
            tag = variant_of(dockerfile)
            if platform:
                tag += "-" + platform.split("/")[1]
            if target:
                tag += "-" + target
            built[key] = wb.build(
                app, dockerfile, platform=platform, target=target, quiet=True, tag=wb.image_name(f"test-{app}", tag)
            )
        return built[key]

    return get


def exported_files(ref: str) -> dict[str, tarfile.TarInfo]:
    """Every non-directory entry of the image's filesystem, leaving out what the engine adds."""
    container = wb.client().containers.create(ref, command=["/x"], labels={"org.dockerworkbook.object": wb.learner()})
    try:
        data = b"".join(container.export())
    finally:
        container.remove(force=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: m for m in tar.getmembers() if not m.isdir() and m.name not in ENGINE_FILES}


def file_bytes(ref: str, path: str, count: int = 64) -> bytes:
    """The first `count` bytes of one file in the image."""
    container = wb.client().containers.create(ref, command=["/x"], labels={"org.dockerworkbook.object": wb.learner()})
    try:
        chunks, _ = container.get_archive(path)
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
            member = tar.next()
            assert member is not None
            handle = tar.extractfile(member)
            assert handle is not None
            return handle.read(count)
    finally:
        container.remove(force=True)


def process_uids(box: wb.RunningContainer) -> set[str]:
    """The numeric uids of the processes in a running container, as the host sees them."""
    top = box.container.top(ps_args="-o uid,pid,comm")
    column = [title.upper() for title in top["Titles"]].index("UID")
    return {row[column] for row in top["Processes"]}


def user_id(box: wb.RunningContainer) -> str:
    code, output = box.exec(["id", "-u"])
    assert code == 0, output
    return output.strip()


def work_copy(app: str, into: Path) -> Path:
    destination = into / app
    shutil.copytree(wb.app_dir(app), destination)
    return destination


# ---------------------------------------------------------------- every app folder


@pytest.mark.parametrize("app", APPS)
def test_readme_lists_every_variant(app: str) -> None:
    folder = wb.app_dir(app)
    readme = (folder / "README.md").read_text()
    for dockerfile in folder.glob("Dockerfile*"):
        assert f"`{dockerfile.name}`" in readme, f"{app}/README.md does not list {dockerfile.name}"
    assert (folder / ".dockerignore").is_file()


@pytest.mark.parametrize("app", ["go-app", "c-hello"])
def test_build_stages_are_named_build(app: str) -> None:
    for dockerfile in wb.app_dir(app).glob("Dockerfile*"):
        text = dockerfile.read_text()
        if len(re.findall(r"^FROM ", text, re.MULTILINE)) > 1:
            assert re.search(r"^FROM .* AS build$", text, re.MULTILINE), dockerfile.name


# ---------------------------------------------------------------- c-hello


def test_c_hello_prints_its_line_from_a_one_file_image(build: Build) -> None:
    result = build("c-hello")
    out = wb.run_once(result.ref)
    assert out.exit_code == 0
    assert out.output == "Hello from a static C program!\n"
    assert set(exported_files(result.ref)) == {"hello"}
    assert result.size_mb < 2
    config = wb.images.config(result.ref)
    assert config["Cmd"] == ["/hello"]
    assert config["User"].split(":")[0] == "65532"


# ---------------------------------------------------------------- go-app

GO_VARIANTS = ["Dockerfile.single", "Dockerfile.debian", "Dockerfile.distroless", "Dockerfile.scratch"]


@pytest.mark.parametrize("dockerfile", [*GO_VARIANTS, "Dockerfile.cross"])
def test_go_variant_serves_and_reports_its_version(build: Build, dockerfile: str) -> None:
    platform = "linux/amd64" if dockerfile == "Dockerfile.cross" else None
    result = build("go-app", dockerfile, platform=platform)
    with wb.run(result.ref, port=8080, wait_http="/healthz", timeout=30) as box:
        assert box.get("/") == GO_HELLO.format(arch="amd64")
        assert box.get("/healthz") == "ok\n"
        uids = process_uids(box)
    expected_uid = {"Dockerfile.single": "0", "Dockerfile.debian": "10001"}.get(dockerfile, "65532")
    assert uids == {expected_uid}
    out = wb.run_once(result.ref, ["-version"])
    assert out.exit_code == 0
    assert re.fullmatch(r"go-app \S+ \(go1\.27\S*, linux/amd64\)\n", out.output), out.output


def test_go_users_match_the_image_config(build: Build) -> None:
    with wb.run(build("go-app", "Dockerfile.single").ref, port=8080) as box:
        assert user_id(box) == "0"
    with wb.run(build("go-app", "Dockerfile.debian").ref, port=8080) as box:
        assert user_id(box) == "10001"
        assert box.exec(["id", "-un"])[1].strip() == "goapp"
        assert box.exec(["id", "-gn"])[1].strip() == "goapp"
    for dockerfile in ("Dockerfile.distroless", "Dockerfile.scratch", "Dockerfile.cross"):
        platform = "linux/amd64" if dockerfile == "Dockerfile.cross" else None
        user = wb.images.config(build("go-app", dockerfile, platform=platform).ref)["User"]
        assert user.split(":")[0] == "65532", (dockerfile, user)


def test_go_sizes_shrink_with_each_variant(build: Build) -> None:
    sizes = {dockerfile: build("go-app", dockerfile).size_mb for dockerfile in GO_VARIANTS}
    assert sizes["Dockerfile.single"] > 500
    assert 50 < sizes["Dockerfile.debian"] < 150
    assert sizes["Dockerfile.distroless"] < 15
    assert sizes["Dockerfile.scratch"] < 12
    assert sizes["Dockerfile.scratch"] < sizes["Dockerfile.distroless"] < sizes["Dockerfile.debian"]


def test_go_scratch_image_is_the_binary_alone(build: Build) -> None:
    files = exported_files(build("go-app", "Dockerfile.scratch").ref)
    assert set(files) == {"go-app"}
    assert files["go-app"].mode & 0o111


def test_go_distroless_image_has_no_shell(build: Build) -> None:
    files = exported_files(build("go-app", "Dockerfile.distroless").ref)
    assert "go-app" in files
    assert {"etc/passwd", "etc/ssl/certs/ca-certificates.crt"} <= set(files)
    assert not any(name.startswith(("bin/", "usr/bin/", "sbin/")) for name in files)
    assert not any(name.endswith(("/sh", "/bash", "/busybox")) for name in files)


def test_go_target_build_stops_at_the_toolchain_stage(build: Build) -> None:
    result = build("go-app", "Dockerfile.scratch", target="build")
    assert result.size_mb > 500
    out = wb.run_once(result.ref, ["sh", "-c", "go version && /out/go-app -version"])
    assert out.exit_code == 0, out.output
    assert "go1.27" in out.output and "linux/amd64" in out.output


def test_go_cross_build_makes_an_arm64_binary(build: Build) -> None:
    result = build("go-app", "Dockerfile.cross", platform="linux/arm64")
    config = wb.images.config(result.ref)
    assert (config["Os"], config["Architecture"]) == ("linux", "arm64")
    assert set(exported_files(result.ref)) == {"go-app"}
    header = file_bytes(result.ref, "/go-app")
    assert header[:4] == b"\x7fELF"
    assert int.from_bytes(header[18:20], "little") == 0xB7  # e_machine: EM_AARCH64
    # The compiler ran natively ($BUILDPLATFORM) and cross-compiled from the TARGET* build args.
    assert any("GOOS=linux GOARCH=arm64 go build" in step.instruction for step in result.steps), result.steps_table()


def test_go_cross_arm64_runs_under_emulation(build: Build) -> None:
    result = build("go-app", "Dockerfile.cross", platform="linux/arm64")
    try:
        out = wb.run_once(result.ref, ["-version"], platform="linux/arm64", timeout=60)
    except wb.errors.ContainerFailed as exc:
        pytest.skip(f"no arm64 emulation on this engine: {exc}")
    if out.exit_code != 0 and "exec format error" in out.output:
        pytest.skip("no arm64 emulation (binfmt/qemu) on this engine")
    assert out.exit_code == 0, out.output
    assert "linux/arm64" in out.output


# ---------------------------------------------------------------- node-app


@pytest.mark.parametrize(("dockerfile", "uid"), [("Dockerfile.naive", "0"), ("Dockerfile", "1000")])
def test_node_variant_serves_and_runs_as(build: Build, dockerfile: str, uid: str) -> None:
    result = build("node-app", dockerfile)
    with wb.run(result.ref, port=3000, wait_http="/healthz", timeout=30) as box:
        assert box.get("/") == "Hello from Node in Docker!\n"
        assert box.get("/healthz") == "ok\n"
        assert user_id(box) == uid
        assert process_uids(box) == {uid}
        code, version = box.exec(["node", "-p", "require('express/package.json').version"])
        assert (code, version.strip()) == (0, "5.2.1")
    config = wb.images.config(result.ref)
    assert "3000/tcp" in config["ExposedPorts"]
    assert config["Cmd"] == ["node", "server.js"]


def test_node_port_comes_from_the_environment(build: Build) -> None:
    ref = build("node-app").ref
    with wb.run(ref, port=4000, env={"PORT": "4000"}, wait_http="/healthz", timeout=30) as box:
        assert box.get("/") == "Hello from Node in Docker!\n"
    config = wb.images.config(ref)
    assert config["User"] == "node"
    assert "PORT=3000" in config["Env"] and "NODE_ENV=production" in config["Env"]


# ---------------------------------------------------------------- flask-app


def test_flask_naive_runs_the_dev_server_as_root(build: Build) -> None:
    result = build("flask-app", "Dockerfile.naive")
    with wb.run(result.ref, port=5000, wait_http="/healthz", timeout=30) as box:
        assert box.get("/") == "Hello from Flask in Docker!\n"
        assert box.get("/healthz") == "ok\n"
        assert user_id(box) == "0"
        assert process_uids(box) == {"0"}
        assert "development server" in box.logs()
    config = wb.images.config(result.ref)
    assert config["Cmd"] == ["python", "app.py"] and not config["Healthcheck"]


def test_flask_production_image_becomes_healthy_as_non_root(build: Build) -> None:
    result = build("flask-app")
    with wb.run(result.ref, port=5000, wait_healthy=True, timeout=60) as box:
        assert box.health() == "healthy"
        assert box.get("/") == "Hello from Flask in Docker!\n"
        assert user_id(box) == "10001"
        assert process_uids(box) == {"10001"}
        # exec "$@" in the entrypoint: gunicorn itself is PID 1, not a shell.
        code, cmdline = box.exec(["cat", "/proc/1/cmdline"])
        assert code == 0 and "gunicorn" in cmdline and "entrypoint" not in cmdline
        logs = box.logs()
        assert "entrypoint: wrote /app/instance/config.json" in logs
        assert "Starting gunicorn 23." in logs
    config = wb.images.config(result.ref)
    assert config["Entrypoint"] == ["/app/entrypoint.sh"]
    assert config["Cmd"] == ["gunicorn", "-b", "0.0.0.0:5000", "app:app"]
    assert "urllib" in " ".join(config["Healthcheck"]["Test"])
    assert config["User"].split(":")[0] not in ("", "0", "root")


def test_flask_entrypoint_writes_the_config_from_the_environment(build: Build) -> None:
    ref = build("flask-app").ref
    with wb.run(ref, port=5000, env={"APP_GREETING": "Hi from a test", "APP_ENV": "test"}, timeout=30) as box:
        assert box.get("/") == "Hi from a test\n"
        assert '"APP_ENV": "test"' in box.logs()
    # Any command passes through the entrypoint first, then runs in its place.
    out = wb.run_once(ref, ["python", "-c", "import os; print('pid', os.getpid())"])
    assert out.exit_code == 0
    assert "entrypoint: wrote" in out.output and "pid 1\n" in out.output


def test_flask_production_image_also_runs_read_only(build: Build) -> None:
    ref = build("flask-app").ref
    with wb.run(ref, port=5000, read_only=True, tmpfs={"/tmp": ""}, wait_healthy=True, timeout=60) as box:
        assert box.get("/") == "Hello from Flask in Docker!\n"
        assert "could not write /app/instance/config.json" in box.logs()


@pytest.mark.parametrize(
    ("app", "dockerfile", "port"),
    [("node-app", "Dockerfile", 3000), ("flask-app", "Dockerfile", 5000), ("go-app", "Dockerfile.scratch", 8080)],
)
def test_production_variants_stop_on_sigterm(build: Build, app: str, dockerfile: str, port: int) -> None:
    with wb.run(build(app, dockerfile).ref, port=port, wait_http="/healthz", timeout=30) as box:
        seconds = box.stop(timeout=10)
        assert seconds < 5, box.logs()
        box.container.reload()
        assert box.container.attrs["State"]["ExitCode"] == 0, box.logs()


def test_flask_dev_server_as_pid_1_ignores_sigterm(build: Build) -> None:
    with wb.run(build("flask-app", "Dockerfile.naive").ref, port=5000, wait_http="/healthz", timeout=30) as box:
        seconds = box.stop(timeout=2)
        box.container.reload()
        assert seconds >= 2 and box.container.attrs["State"]["ExitCode"] == 137  # killed after the grace period


# ---------------------------------------------------------------- the build cache lesson


@pytest.mark.parametrize(
    ("app", "source", "install", "host_junk"),
    [
        ("node-app", "server.js", "npm", [".env", "npm-debug.log", "node_modules/left-from-host/index.js"]),
        ("flask-app", "app.py", "pip install", [".env", ".venv/bin/python", "__pycache__/app.cpython-313.pyc"]),
    ],
)
def test_source_change_reruns_the_install_only_in_the_naive_variant(
    build: Build, tmp_path: Path, app: str, source: str, install: str, host_junk: list[str]
) -> None:
    for dockerfile in ("Dockerfile.naive", "Dockerfile"):
        build(app, dockerfile)  # warms the cache from apps/
        folder = work_copy(app, tmp_path / variant_of(dockerfile))
        for junk in host_junk:  # what a developer's folder holds; .dockerignore keeps it out
            (folder / junk).parent.mkdir(parents=True, exist_ok=True)
            (folder / junk).write_text("not for the image\n")
        change = f"changed {uuid.uuid4()}"  # new content every run: the build cache keys on content
        with (folder / source).open("a") as handle:
            handle.write(f"\n// {change}\n" if source.endswith(".js") else f"\n# {change}\n")
        tag = wb.image_name(f"test-{app}", f"changed-{variant_of(dockerfile)}")
        result = wb.build(folder, dockerfile, quiet=True, tag=tag)
        rebuilt_install = [s for s in result.steps if not s.cached and install in s.instruction]
        if dockerfile == "Dockerfile.naive":
            assert rebuilt_install, result.steps_table()
        else:
            assert not rebuilt_install, result.steps_table()
        listing = wb.run_once(tag, ["sh", "-c", "cd /app && ls -A . node_modules 2>/dev/null; true"])
        names = listing.output.split()
        assert source in names, listing.output
        for kept_out in ("Dockerfile", "README.md", *(junk.split("/")[0] for junk in host_junk)):
            if kept_out != "node_modules":
                assert kept_out not in names, (dockerfile, listing.output)
        assert "left-from-host" not in names


# ---------------------------------------------------------------- broken apps


def test_failing_run_in_an_app_names_step_line_and_exit_code() -> None:
    with pytest.raises(wb.errors.BuildFailed) as caught:
        wb.build(BROKEN / "flask-missing-deps", quiet=True, tag=wb.image_name("test-broken-app", "flask"))
    error = caught.value
    assert error.step == 'RUN python -c "import app"'
    assert error.line == 6
    assert error.exit_code == 1
    assert "No module named 'flask'" in error.log_tail


def test_compile_error_fails_the_go_build_stage() -> None:
    with pytest.raises(wb.errors.BuildFailed) as caught:
        wb.build(BROKEN / "go-compile-error", quiet=True, tag=wb.image_name("test-broken-app", "go"))
    error = caught.value
    assert "go build" in error.step
    assert error.line == 4
    assert error.exit_code == 1
    assert "undefined: greting" in error.log_tail


def test_dockerfile_typo_names_the_line() -> None:
    with pytest.raises(wb.errors.BuildFailed) as caught:
        wb.build(
            BROKEN / "go-compile-error", "Dockerfile.typo", quiet=True, tag=wb.image_name("test-broken-app", "typo")
        )
    error = caught.value
    assert error.line == 2
    assert "COPPY" in str(error)
    assert "syntax" in error.hint
