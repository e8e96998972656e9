"""The extra CA certificate a host trusts (for example a TLS-inspecting proxy's)."""

from __future__ import annotations

import os
from pathlib import Path

# Looked at in this order; the first that names a readable file wins.
CA_VARIABLES = (
    "WORKBOOK_EXTRA_CA",
    "PIP_CERT",
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE",
    "NODE_EXTRA_CA_CERTS",
)


def extra_ca_file() -> Path | None:
    """The CA bundle the host asks tools to trust, or None when it names none."""
    for variable in CA_VARIABLES:
        value = os.environ.get(variable)
        if value and Path(value).is_file():
            return Path(value)
    return None
