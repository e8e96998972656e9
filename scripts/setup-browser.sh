#!/usr/bin/env bash
# Make sure the real-browser test (tests/test_browser.py) can run: Debian's Chromium, driven
# by the Playwright Python client that requirements.txt installs into .venv. Playwright's own
# browser download (`playwright install`) is never used: the distribution's Chromium is.
# Idempotent and quiet; on a system without apt it only says what to install.
set -euo pipefail

log() { printf '[setup-browser] %s\n' "$*"; }

CHROMIUM=${WORKBOOK_CHROMIUM:-/usr/bin/chromium}
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if [ -x "$CHROMIUM" ]; then
  :
elif command -v apt-get >/dev/null; then
  log "installing chromium (Debian package)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
else
  log "no apt here: install Chromium yourself (e.g. 'brew install --cask chromium', 'dnf install chromium')"
  log "and point WORKBOOK_CHROMIUM at its executable; until then tests/test_browser.py skips (and fails in CI)"
  exit 0
fi

PY=${PY:-.venv/bin/python}
if [ -x "$PY" ] && ! "$PY" -c "import playwright" 2>/dev/null; then
  log "the playwright client is missing from .venv: run 'make setup' (it installs requirements.txt)"
  exit 1
fi
exit 0
