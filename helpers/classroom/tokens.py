"""Fresh tokens for edits that must differ on every run (a new greeting, a unique tag)."""

from __future__ import annotations

import secrets

from helpers.replay import replayable


@replayable  # replay mode gives back the recorded run's token, so its results still match
def fresh_token(prefix: str = "") -> str:
    """A new random token, e.g. fresh_token("edit-") -> "edit-3f9a1c2b7d4e"."""
    return prefix + secrets.token_hex(6)
