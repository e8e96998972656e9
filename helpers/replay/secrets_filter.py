"""Keeping secrets out of recordings: a recording is committed, and anyone may read it.

Arguments named like a secret (password, token, secret, auth, ...) are recorded as "<secret>",
and any text equal to the value of a secret-named environment variable is replaced wherever
it appears in what is written (keys, answers, printed output).
"""

from __future__ import annotations

import os
import re
from typing import Any

SECRET_NAME = re.compile(r"pass(word|wd)?|token|secret|auth|credential|api[_-]?key|private", re.IGNORECASE)
MASK = "<secret>"
MIN_SECRET = 8  # shorter values (flags, "true", words like "second") would mask ordinary text


def secret_argument(name: str) -> bool:
    return bool(name) and bool(SECRET_NAME.search(name))


def environment_secrets() -> list[str]:
    """Values of environment variables named like a secret, longest first."""
    values = {v for k, v in os.environ.items() if SECRET_NAME.search(k) and len(v) >= MIN_SECRET}
    return sorted(values, key=len, reverse=True)


def redact(value: Any, secrets: list[str] | None = None) -> Any:
    """`value` (JSON data: str, list, dict) with every environment secret masked in its texts."""
    secrets = environment_secrets() if secrets is None else secrets
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, MASK)
        return value
    if isinstance(value, list):
        return [redact(v, secrets) for v in value]
    if isinstance(value, dict):  # keys are field and column names the workbook wrote: kept
        return {k: redact(v, secrets) for k, v in value.items()}
    return value
