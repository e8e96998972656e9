#!/usr/bin/env bash
# Run the engine tests and every notebook again on the other image store: a second daemon
# started beside the workbook's own engine (scripts/setup-engine.sh second-store), with the
# base images moved over from the first store instead of being built twice.
# On an engine the workbook did not start, the pass is reported as skipped; with CI=true a
# skipped store, or an engine older than the current one, fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
in_ci() { case "${CI:-}" in 1|true|yes) return 0 ;; *) return 1 ;; esac; }

if [ "${WORKBOOK_STORES_BY_MATRIX:-}" = "1" ]; then
  # The GitHub workflow runs each image store in its own matrix job (.github/workflows/).
  echo "second image store: run by the workflow's other matrix job (WORKBOOK_STORES_BY_MATRIX=1)"
  exit 0
fi
status=0
second=$(bash scripts/setup-engine.sh second-store) || status=$?
if [ "$status" -eq 3 ]; then
  echo "second image store: SKIPPED (the engine here was not started by the workbook's set-up)"
  if in_ci; then echo "CI needs both image stores: failing the run" >&2; exit 1; fi
  exit 0
fi
[ "$status" -eq 0 ] || exit "$status"
read -r host netns <<<"$second"
if in_ci && grep -q '"fallback": true' /var/lib/workbook-engine/engine.json; then
  echo "the set-up fell back to the older engine: CI needs the current one; failing the run" >&2
  exit 1
fi
"$PY" -m helpers bases --copy-to "$host"
echo "second image store: $(DOCKER_HOST=$host docker info --format '{{.ServerVersion}}, storage {{.Driver}} {{.DriverStatus}}')"
# The tests run in the second daemon's network namespace, where its published ports are.
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo --preserve-env"
# The variables go through `env` after sudo, which drops PYTHONPATH (set, with WORKBOOK_ROOT,
# when this pass runs in a copy of the checkout: scripts/test-both-stores.sh).
exec $SUDO nsenter --net="/run/netns/$netns" env DOCKER_HOST="$host" WORKBOOK_STORE_RUN=second \
  WORKBOOK_DURATIONS="${WORKBOOK_DURATIONS:-tests/artifacts/durations/second-store.csv}" \
  ${PYTHONPATH:+PYTHONPATH="$PYTHONPATH"} ${WORKBOOK_ROOT:+WORKBOOK_ROOT="$WORKBOOK_ROOT"} "$PY" -m pytest -m engine tests notebooks --nbval \
  --nbval-sanitize-with tests/nbval-sanitize.cfg --durations=30 --nbval-current-env -p no:cacheprovider "$@"
