"""The extra CA copied into stand-in images: only certificates go in, never a private key, and
images that carry one say so in a label."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

import helpers as wb
from helpers.bases import provision
from helpers.bases.extra_ca import CA_VARIABLES, EXTRA_CA_LABEL, certificates_only, extra_ca
from helpers.bases.standins import EXTRA_CA_FILE, Recipe
from helpers.engine.run import remove_container
from helpers.errors import InvalidInput
from helpers.labels import object_labels


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    """A real self-signed CA certificate and its private key (PEM), made by openssl."""
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("ca")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(folder / "ca.key"), "-out", str(folder / "ca.crt"),
            "-days", "2", "-subj", "/CN=Workbook test proxy CA",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return (folder / "ca.crt").read_bytes(), (folder / "ca.key").read_bytes()


@pytest.fixture
def no_ca_variables(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for variable in CA_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


def test_bundle_with_a_private_key_is_refused(issued: tuple[bytes, bytes], tmp_path: Path) -> None:
    cert, key = issued
    with pytest.raises(InvalidInput) as caught:
        certificates_only(cert + key, tmp_path / "bundle.pem", "PIP_CERT")
    text = str(caught.value)
    assert "The extra CA file that PIP_CERT names is not used: it holds a PRIVATE KEY" in text
    assert "must never be copied into an image" in text
    assert f"Where: {tmp_path / 'bundle.pem'}" in text


def test_a_private_key_is_refused_whatever_its_kind(issued: tuple[bytes, bytes], tmp_path: Path) -> None:
    cert, _ = issued
    for kind in ("RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY"):
        key = f"-----BEGIN {kind}-----\nAAAA\n-----END {kind}-----\n".encode()
        with pytest.raises(InvalidInput, match="PRIVATE KEY"):
            certificates_only(key + cert, tmp_path / "bundle.pem")


def test_comments_and_other_blocks_around_certificates_are_dropped(issued: tuple[bytes, bytes], tmp_path: Path) -> None:
    cert, _ = issued
    noisy = (
        b"# Corporate proxy CA, installed by IT\n"
        b"subject=CN = Workbook test proxy CA\n" + cert.replace(b"\n", b"\r\n") + b"\nrandom trailing garbage\n"
        b"-----BEGIN X509 CRL-----\nMAMCAQA=\n-----END X509 CRL-----\n" + cert
    )
    kept = certificates_only(noisy, tmp_path / "bundle.pem")
    assert kept.count == 2
    assert kept.pem == cert + cert  # openssl writes canonical PEM: 64-character lines, one newline each
    assert b"#" not in kept.pem and b"garbage" not in kept.pem and b"CRL" not in kept.pem
    assert kept.labels == {EXTRA_CA_LABEL: "sha256:" + hashlib.sha256(cert + cert).hexdigest()}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"# only a comment\n", "it holds no PEM certificate"),
        (
            b"-----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n",
            "certificate number 1 is not valid",
        ),
        (b"-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n", "certificate number 1 is not valid"),
        (b"\x00" * ((4 << 20) + 1), "too large for a CA bundle"),
    ],
    ids=["no-certificate", "not-base64", "not-der", "too-large"],
)
def test_files_that_are_not_ca_bundles_are_refused(data: bytes, message: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        certificates_only(data, tmp_path / "bundle.pem")
    assert message in str(caught.value)


def test_the_first_variable_naming_a_file_wins(
    issued: tuple[bytes, bytes], no_ca_variables: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cert, key = issued
    assert extra_ca() is None
    (tmp_path / "ca.crt").write_bytes(b"# ours\n" + cert)
    (tmp_path / "key.pem").write_bytes(key)
    no_ca_variables.setenv("SSL_CERT_FILE", str(tmp_path / "key.pem"))
    no_ca_variables.setenv("WORKBOOK_EXTRA_CA", str(tmp_path / "missing.crt"))  # not a file: skipped
    with pytest.raises(InvalidInput, match="that SSL_CERT_FILE names is not used: it holds a PRIVATE KEY"):
        extra_ca()
    no_ca_variables.setenv("PIP_CERT", str(tmp_path / "ca.crt"))
    found = extra_ca()
    assert found is not None and found.variable == "PIP_CERT" and found.pem == cert


def test_stand_in_context_gets_only_certificates_and_the_label(
    issued: tuple[bytes, bytes], no_ca_variables: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cert, _ = issued
    (tmp_path / "bundle.pem").write_bytes(b"comment\n" + cert + b"trailer\n")
    no_ca_variables.setenv("WORKBOOK_EXTRA_CA", str(tmp_path / "bundle.pem"))
    copies = Recipe(dockerfile="FROM busybox:1.37\nCOPY ca/ /usr/local/share/ca-certificates/\n", probe="")
    context = tmp_path / "context"
    context.mkdir()
    said: list[str] = []
    dockerfile, labels = provision._prepare_context(copies, context, said.append)
    assert (context / "ca" / EXTRA_CA_FILE).read_bytes() == cert
    assert labels == {EXTRA_CA_LABEL: "sha256:" + hashlib.sha256(cert).hexdigest()}
    assert dockerfile == copies.dockerfile
    assert any("trusting the host's extra CA (1 certificates)" in line for line in said)

    other = tmp_path / "no-copy"
    other.mkdir()
    _, none = provision._prepare_context(Recipe(dockerfile="FROM busybox:1.37\n", probe=""), other, said.append)
    assert none == {}  # an image that does not copy ca/ does not carry it


def test_no_extra_ca_means_no_label_and_no_file(no_ca_variables: pytest.MonkeyPatch, tmp_path: Path) -> None:
    copies = Recipe(dockerfile="FROM busybox:1.37\nCOPY ca/ /usr/local/share/ca-certificates/\n", probe="")
    _, labels = provision._prepare_context(copies, tmp_path, lambda _line: None)
    assert labels == {} and list((tmp_path / "ca").iterdir()) == []


@pytest.mark.engine
def test_image_built_with_an_extra_ca_carries_the_label_and_only_the_certificate(
    issued: tuple[bytes, bytes], no_ca_variables: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The stand-in builder's own steps: prepare the context, classic build with its labels."""
    cert, key = issued
    (tmp_path / "bundle.pem").write_bytes(b"# proxy\n" + cert)
    no_ca_variables.setenv("WORKBOOK_EXTRA_CA", str(tmp_path / "bundle.pem"))
    recipe = Recipe(dockerfile="FROM busybox:1.37\nCOPY ca/ /usr/local/share/ca-certificates/\n", probe="")
    context = tmp_path / "context"
    context.mkdir()
    dockerfile, labels = provision._prepare_context(recipe, context, lambda _line: None)
    (context / "Dockerfile").write_text(dockerfile)
    ref = wb.image_name("extra-ca-standin", "1")
    client = wb.client()
    try:
        provision._classic_build(context, ref, None, labels, lambda _line: None)
        image = client.images.get(ref)
        assert image.labels[EXTRA_CA_LABEL] == "sha256:" + hashlib.sha256(cert).hexdigest()
        container = client.containers.create(ref, command=["true"], labels=object_labels())
        try:
            stream, _ = container.get_archive(f"/usr/local/share/ca-certificates/{EXTRA_CA_FILE}")
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
                member = archive.extractfile(EXTRA_CA_FILE)
                assert member is not None and member.read() == cert
        finally:
            remove_container(str(container.id))
    finally:
        client.images.remove(ref, force=True)
    assert key not in (context / "ca" / EXTRA_CA_FILE).read_bytes()
