"""The extra CA certificate a host trusts (for example a TLS-inspecting proxy's).

Stand-in bases copy it into their images, and stand-ins travel in classroom kits, so only
what a CA bundle may hold goes in: the CERTIFICATE blocks, re-encoded; comments and anything
else are dropped, and a file holding a private key is refused outright. Images that carry
the certificates are labelled with EXTRA_CA_LABEL (the SHA-256 of the file they carry).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from helpers.errors import InvalidInput
from helpers.labels import EXTRA_CA_LABEL

# Looked at in this order; the first that names a readable file wins.
CA_VARIABLES = (
    "WORKBOOK_EXTRA_CA",
    "PIP_CERT",
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE",
    "NODE_EXTRA_CA_CERTS",
)
# Set on images that carry an extra CA; the value is "sha256:<digest of the PEM file carried>".
MAX_BUNDLE = 4 << 20  # a full system bundle is about 220 kB
MAX_CERTIFICATES = 1000

_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)
_PRIVATE_KEY = re.compile(r"PRIVATE\s+KEY")


@dataclass(frozen=True)
class ExtraCA:
    """Certificates checked and ready to copy into an image."""

    source: Path
    variable: str
    pem: bytes  # only CERTIFICATE blocks, 64 characters a line
    count: int

    @property
    def labels(self) -> dict[str, str]:
        return {EXTRA_CA_LABEL: "sha256:" + hashlib.sha256(self.pem).hexdigest()}


def extra_ca_file() -> Path | None:
    """The CA bundle the host asks tools to trust, or None when it names none."""
    found = _named_file()
    return found[0] if found else None


def _named_file() -> tuple[Path, str] | None:
    for variable in CA_VARIABLES:
        value = os.environ.get(variable)
        if value and Path(value).is_file():
            return Path(value), variable
    return None


def extra_ca() -> ExtraCA | None:
    """The host's extra CA, checked (see certificates_only); None when no variable names one."""
    found = _named_file()
    if found is None:
        return None
    path, variable = found
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_BUNDLE + 1)
    except OSError as exc:
        raise _refused(path, variable, f"it cannot be read ({exc.strerror})") from None
    return certificates_only(data, path, variable)


def certificates_only(data: bytes, source: Path, variable: str = "WORKBOOK_EXTRA_CA") -> ExtraCA:
    """Keep only the CERTIFICATE blocks of a PEM bundle; refuse one holding a private key,
    one too large to be a CA bundle, and one with no certificate at all."""
    if len(data) > MAX_BUNDLE:
        raise _refused(source, variable, f"it is larger than {MAX_BUNDLE >> 20} MB, too large for a CA bundle")
    text = data.decode("ascii", errors="replace")
    if _PRIVATE_KEY.search(text):
        raise _refused(
            source,
            variable,
            "it holds a PRIVATE KEY, which must never be copied into an image (images are shared, "
            "pushed and put into classroom kits)",
        )
    blocks = []
    for kind, body in _BLOCK.findall(text):
        if kind != "CERTIFICATE":
            continue  # CRLs, parameters, TRUSTED CERTIFICATE: not what update-ca-certificates reads
        der = _decoded(body)
        if der is None:
            raise _refused(source, variable, f"its certificate number {len(blocks) + 1} is not valid base64 DER")
        blocks.append(_pem(der))
        if len(blocks) > MAX_CERTIFICATES:
            raise _refused(source, variable, f"it holds more than {MAX_CERTIFICATES} certificates")
    if not blocks:
        raise _refused(source, variable, "it holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    return ExtraCA(source, variable, b"".join(blocks), len(blocks))


def _decoded(body: str) -> bytes | None:
    """The DER bytes of a PEM body, or None when it is not base64 of an ASN.1 SEQUENCE."""
    compact = "".join(body.split())
    try:
        der = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    return der if len(der) > 2 and der[0] == 0x30 else None


def _pem(der: bytes) -> bytes:
    encoded = base64.b64encode(der).decode()
    lines = [encoded[i : i + 64] for i in range(0, len(encoded), 64)]
    return ("-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n").encode()


def _refused(source: Path, variable: str, why: str) -> InvalidInput:
    return InvalidInput(
        f"The extra CA file that {variable} names is not used: {why}",
        where=str(source),
        hint=f"point {variable} at a file holding only the CA's certificate (PEM, "
        "-----BEGIN CERTIFICATE-----), or unset it",
    )
