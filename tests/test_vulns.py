"""Pending Debian security fixes (helpers.vulns): dpkg's version ordering, the package lists,
the comparison on a fixture status + index, the index download against a loopback server,
and one engine image."""

from __future__ import annotations

import hashlib
import http.server
import lzma
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import helpers as wb
from helpers.analysis import debpackages, debversion, vulns

FIXTURES = Path(__file__).parent / "fixtures" / "vulns"

# (a, b, expected sign of compare(a, b)): Debian Policy 5.6.12, deb-version(7) and dpkg's own tests
ORDERED = [
    ("1.0", "1.0", 0),
    ("1.0", "1.0-0", 0),  # a missing revision equals revision 0
    ("1:1.0", "2.0", 1),  # the epoch wins over everything else
    ("0:1.0", "1.0", 0),  # epoch 0 is the default
    ("1.0~rc1", "1.0", -1),  # ~ sorts before the end of the string
    ("1.0~~", "1.0~~a", -1),
    ("1.0~~a", "1.0~", -1),
    ("1.0~", "1.0", -1),
    ("1.0", "1.0a", -1),  # the end sorts before a letter
    ("1.0a", "1.0+", -1),  # letters sort before non-letters
    ("1.0+", "1.0.1", -1),
    ("1.2", "1.10", -1),  # digits compare as numbers
    ("1.002", "1.2", 0),  # leading zeros do not count
    ("1.0-1", "1.0-1+b1", -1),  # a binNMU sorts after its source version
    ("1.0-1+b1", "1.0-1+deb13u1", -1),  # b before d: a security upload beats a binNMU
    ("1.0-1+deb13u1", "1.0-1+deb13u2", -1),
    ("1.0-1+deb12u9", "1.0-1+deb13u1", -1),
    ("2.47.3-0+deb13u1~bpo1", "2.47.3-0+deb13u1", -1),  # a backport before the version it backports
    ("1.0-a-b", "1.0-a", 1),  # the revision is after the LAST hyphen: upstream "1.0-a" > "1.0"
    ("7.6p2-4", "7.6-0", 1),
    ("1:4.17.4-2", "1:4.17.4-2+deb13u1", -1),
    ("2025b-4+deb13u1", "2025a-4+deb13u1", 1),
    ("10.0", "9.9", 1),
    ("1.5.7+dfsg-1", "1.5.7+dfsg-1+deb13u1", -1),
    ("3.0", "3.0.0", -1),
]


@pytest.mark.parametrize(("a", "b", "sign"), ORDERED)
def test_debian_version_ordering(a: str, b: str, sign: int) -> None:
    assert debversion.compare(a, b) == sign
    assert debversion.compare(b, a) == -sign
    assert debversion.newer(a, b) == (sign > 0)


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg is not installed")
def test_ordering_agrees_with_dpkg_itself() -> None:
    for a, b in [(a, b) for a, b, _ in ORDERED] + [(b, a) for a, b, _ in ORDERED]:
        ours = debversion.compare(a, b)
        theirs = {
            op: subprocess.run(["dpkg", "--compare-versions", a, op, b], check=False).returncode == 0
            for op in ("lt", "eq")
        }
        assert (ours < 0) == theirs["lt"] and (ours == 0) == theirs["eq"], (a, b)


def test_version_parts() -> None:
    version = debversion.parse("1:2.0-a-b")
    assert (version.epoch, version.upstream, version.revision) == (1, "2.0-a", "b")
    assert str(version) == "1:2.0-a-b"
    assert debversion.parse("2.0").revision == ""


@pytest.mark.parametrize("bad", ["", "1.0 beta", "a:1.0", "1.0-", ":1.0", "1:", "1.0_1", "1" * 300, "1.0-1:2"])
def test_not_a_version(bad: str) -> None:
    with pytest.raises(debversion.BadVersion):
        debversion.parse(bad)


def test_status_lists_installed_packages_only() -> None:
    status = debpackages.packages((FIXTURES / "status").read_bytes(), "status", installed_only=True)
    assert "curl" not in set(status.package)  # deinstall ok config-files
    assert len(status) == 8
    rows = status.set_index("package")
    assert rows.loc["libpng16-16t64", ["version", "source", "source_version"]].tolist() == [
        "1.6.48-1+b1",
        "libpng1.6",
        "1.6.48-1",
    ]
    assert rows.loc["bash", ["source", "source_version"]].tolist() == ["bash", "5.2.37-2+b5"]
    assert rows.loc["libzstd1", "source"] == "libzstd"


def test_pending_fixes_on_the_fixtures() -> None:
    status = debpackages.packages((FIXTURES / "status").read_bytes(), "status", installed_only=True)
    index = debpackages.packages((FIXTURES / "Packages").read_bytes(), "Packages")
    found = vulns.pending(status, index).sort_values("package", ignore_index=True)
    expected = pd.read_csv(FIXTURES / "expected.csv", dtype=str)
    pd.testing.assert_frame_equal(found, expected)


def test_no_pending_fix_against_itself() -> None:
    status = debpackages.packages((FIXTURES / "status").read_bytes(), "status", installed_only=True)
    assert vulns.pending(status, status).empty


def test_os_release() -> None:
    info = debpackages.os_release((FIXTURES / "os-release").read_bytes(), "os-release")
    assert info["VERSION_CODENAME"] == "trixie" and info["ID"] == "debian"
    assert info["PRETTY_NAME"] == "Debian GNU/Linux 13 (trixie)"


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"Package: a\nVersion: 1.0\nthis line has no colon\n", "line 3"),
        (b" continued\nPackage: a\n", "line 1"),
        (b"Package: a\nVersion: 1.0\n\nPackage: b\n", "without a Package or Version"),
        (b"Package: a\nVersion: not a version\n", "not a Debian version"),
        (b"Package: a\nVersion: 1.0\nSource: s (1 2)\n", "not a Debian version"),
        (b"Package: \xff\xfe\n", "not UTF-8"),
    ],
)
def test_malformed_lists_get_one_paragraph(data: bytes, said: str) -> None:
    with pytest.raises(wb.errors.InvalidInput) as caught:
        debpackages.packages(data, "the status file")
    text = str(caught.value)
    assert said in text and "the status file" in text and "What to try:" in text


def test_too_many_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(debpackages, "MAX_PARAGRAPHS", 3)
    data = b"".join(b"Package: p%d\nVersion: 1\n\n" % n for n in range(5))
    with pytest.raises(wb.errors.InvalidInput, match="more than 3 entries"):
        debpackages.packages(data, "Packages")


# -- the index download, from a server on loopback ---------------------------------------------
class _Archive(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A security suite served on loopback: dists/trixie-security/{InRelease, main/binary-amd64/Packages.xz}."""
    suite = tmp_path / "dists" / "trixie-security"
    (suite / "main" / "binary-amd64").mkdir(parents=True)
    packed = lzma.compress((FIXTURES / "Packages").read_bytes(), format=lzma.FORMAT_XZ)
    (suite / "main" / "binary-amd64" / "Packages.xz").write_bytes(packed)
    digest = hashlib.sha256(packed).hexdigest()
    (suite / "InRelease").write_text(
        "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n"
        "Origin: Debian\nSuite: stable-security\nCodename: trixie-security\n"
        "Date: Fri, 27 Nov 2026 10:00:00 UTC\nSHA256:\n"
        f" {'0' * 64} 1 main/binary-arm64/Packages.xz\n {digest} {len(packed)} main/binary-amd64/Packages.xz\n"
        "-----BEGIN PGP SIGNATURE-----\n\nnot checked\n-----END PGP SIGNATURE-----\n"
    )
    handler = lambda *args: _Archive(*args, directory=str(tmp_path))  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(vulns, "MIRROR", f"http://127.0.0.1:{server.server_port}")
    try:
        yield suite
    finally:
        server.shutdown()
        server.server_close()


def test_index_download(mirror: Path) -> None:
    index = vulns.security_index("trixie", "amd64")
    assert len(index) == 11 and index.attrs["date"] == "Fri, 27 Nov 2026 10:00:00 UTC"
    assert index.attrs["bytes"] == (mirror / "main/binary-amd64/Packages.xz").stat().st_size
    assert index.attrs["url"].endswith("/dists/trixie-security/main/binary-amd64/Packages.xz")


def test_index_that_does_not_match_its_hash(mirror: Path) -> None:
    target = mirror / "main/binary-amd64/Packages.xz"
    target.write_bytes(target.read_bytes()[:-1] + b"\x00")
    with pytest.raises(vulns.SecurityIndexUnavailable, match="does not match the SHA-256"):
        vulns.security_index("trixie", "amd64")


def test_index_of_an_unknown_architecture(mirror: Path) -> None:
    with pytest.raises(vulns.SecurityIndexUnavailable, match=r"lists no main/binary-s390x/Packages\.xz"):
        vulns.security_index("trixie", "s390x")


def test_oversized_release_file(mirror: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vulns, "MAX_RELEASE", 100)
    with pytest.raises(vulns.SecurityIndexUnavailable, match="more than 100 bytes"):
        vulns.security_index("trixie", "amd64")


def test_unreachable_archive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vulns, "MIRROR", "http://127.0.0.1:9")
    with pytest.raises(vulns.SecurityIndexUnavailable) as caught:
        vulns.security_index("bookworm", "amd64")
    text = str(caught.value)
    assert "did not answer" in text and "127.0.0.1:9/dists/bookworm-security/InRelease" in text
    assert "WORKBOOK_SECURITY_MIRROR" in text


def test_hostile_codename() -> None:
    with pytest.raises(wb.errors.InvalidInput):
        vulns.security_index("../../etc", "amd64")


# -- an engine image -----------------------------------------------------------------------------
@pytest.mark.engine
def test_installed_packages_of_the_debian_base() -> None:
    found = vulns.installed(wb.catalog.DEBIAN)
    assert found.attrs["codename"] == "trixie" and found.attrs["id"] == "debian"
    assert {"dpkg", "base-files", "libc6", "apt"} <= set(found.package)
    assert found.attrs["dpkg database"] and len(found) > 50


@pytest.mark.engine
def test_an_image_without_dpkg() -> None:
    found = vulns.report(wb.catalog.BUSYBOX)
    assert found.empty and not found.attrs["checked"] and not found.attrs["dpkg database"]


def test_scanners_are_detected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(vulns, "PLUGIN_FOLDERS", (str(tmp_path / "plugins"),))
    assert vulns.installed_scanners() == {}
    assert "none is installed" in vulns.scan_with_a_scanner("any:image")
    (tmp_path / "plugins").mkdir()
    for path in (tmp_path / "grype", tmp_path / "plugins" / "docker-scout"):
        path.write_text("#!/bin/sh\nexit 0\n")
        path.chmod(0o755)
    assert set(vulns.installed_scanners()) == {"grype", "docker scout"}
