"""hadolint through helpers.lint, and syft through helpers.sbom (on an engine image and on an archive file)."""

from __future__ import annotations

from pathlib import Path

import pytest

import helpers as wb
from helpers.analysis import lint, sbom, vulns
from helpers.engine import daemon, saveload

FIXTURES = Path(__file__).parent / "fixtures" / "analysis"


def test_naive_dockerfile_has_the_classic_findings() -> None:
    findings = lint.dockerfile(FIXTURES / "Dockerfile.naive")
    assert list(findings.columns) == ["rule", "line", "level", "message", "link"]
    rules = dict(zip(findings.rule, findings.line, strict=True))
    assert rules["DL3007"] == 2  # FROM debian:latest
    assert rules["DL3008"] == 4  # apt-get install without versions
    assert {"DL3009", "DL3015", "DL3003", "DL3025"} <= set(rules)
    assert findings.line.is_monotonic_increasing
    link = findings.set_index("rule").link
    assert link["DL3007"] == "https://github.com/hadolint/hadolint/wiki/DL3007"
    assert lint.counts(findings)["warning"] >= 3


def test_fixed_dockerfile_has_fewer_findings() -> None:
    naive, fixed = lint.dockerfile(FIXTURES / "Dockerfile.naive"), lint.dockerfile(FIXTURES / "Dockerfile.fixed")
    assert len(fixed) < len(naive)
    assert not {"DL3007", "DL3008"} & set(fixed.rule)


def test_lint_text_links_shellcheck_rules_and_ignores() -> None:
    text = "FROM debian:trixie-slim\nRUN echo $HOME\n"
    findings = lint.text(text)
    assert findings.set_index("rule").link["SC2086"] == "https://www.shellcheck.net/wiki/SC2086"
    assert lint.text(text, ignore=["SC2086"]).empty


def test_lint_of_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(wb.errors.InvalidInput) as caught:
        lint.dockerfile(tmp_path / "Dockerfile")
    assert "no Dockerfile" in str(caught.value)


def test_missing_tool_points_to_requirements() -> None:
    with pytest.raises(wb.errors.InvalidInput) as caught:
        lint.tool("no-such-linter-here", "no-such-wheel")
    assert "requirements.txt" in caught.value.hint


@pytest.mark.engine
def test_sbom_of_python_slim_lists_debian_packages() -> None:
    bill = sbom.generate("python:3.13-slim-trixie")
    assert bill.count > 50 and bill.count == len(bill.packages)
    debs = bill.packages[bill.packages.type == "deb"]
    assert {"libc6", "base-files"} <= set(debs.name)
    assert "trixie" in bill.distro.lower() and bill.syft_version == "1.18.1"
    assert set(bill.by_type().type) >= {"deb"}


@pytest.mark.engine
def test_sbom_agrees_with_dpkg() -> None:
    """The SBOM's deb packages are exactly dpkg's installed packages, at the same versions."""
    bill = sbom.generate("debian:trixie-slim")
    debs = bill.packages[bill.packages.type == "deb"]
    in_dpkg = vulns.installed("debian:trixie-slim")
    assert set(zip(debs.name, debs.version, strict=True)) == set(zip(in_dpkg.package, in_dpkg.version, strict=True))
    libc = debs.set_index("name").loc["libc6"]
    assert libc.purl.startswith(f"pkg:deb/debian/libc6@{libc.version.replace('+', '%2B')}?")


@pytest.mark.engine
def test_sbom_of_an_archive_needs_no_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    saved = saveload.save("busybox:1.37", tmp_path / "busybox.tar").path
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")
    monkeypatch.setattr(daemon, "_client", None)
    daemon._context_host.cache_clear()
    assert not wb.engine.available()
    found = sbom.packages(saved)
    assert "busybox" in set(found.name)


@pytest.mark.engine
def test_sbom_of_a_missing_image() -> None:
    with pytest.raises(wb.errors.NoSuchImage):
        sbom.generate(wb.image_name("test-sbom", "never-built"))
