#!/usr/bin/env bash
# `make test`: every test, both image stores, in two lanes at once (one per core):
#   lane 1: the engine tests and notebooks on the workbook's engine;
#   lane 2: the same on the other image store (scripts/test-second-store.sh: a second daemon),
#           in a copy of this checkout's files since lessons write work folders under the
#           checkout; then the tests that need no engine (replay, website, lint, unit tests).
# The daemons are separate, so the lanes share only the machine's cores. Lane 2's log is
# printed when both are done; any part failing fails the run. Each part writes its tests'
# seconds to tests/artifacts/durations/ (engine.csv, second-store.csv, no-engine.csv).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
PY=${PY:-.venv/bin/python}
case "$PY" in /*) ;; *) PY=$root/$PY ;; esac
artifacts=$root/tests/artifacts
mkdir -p "$artifacts/durations"
NBVAL=(--nbval --nbval-sanitize-with tests/nbval-sanitize.cfg --nbval-current-env -p no:cacheprovider)

engine_tests() {
  WORKBOOK_DURATIONS="$artifacts/durations/engine.csv" "$PY" -m pytest -m engine tests notebooks "${NBVAL[@]}" \
    --durations=30
}
no_engine_tests() {
  WORKBOOK_DURATIONS="$artifacts/durations/no-engine.csv" "$PY" -m pytest -m "not engine" tests -p no:cacheprovider \
    --durations=15
}

if [ "${WORKBOOK_STORES_BY_MATRIX:-}" = "1" ]; then
  # The GitHub workflow runs each image store in its own job: one lane, no second daemon.
  status=0
  engine_tests || status=$?
  no_engine_tests || status=$?
  PY=$PY bash scripts/test-second-store.sh || status=$?
  exit "$status"
fi

copy=$(mktemp -d "${TMPDIR:-/var/tmp}/workbook-second-store.XXXXXX")
lane2=""
stop_tree() { # a process and everything it started (lane 2 ignores Ctrl-C: it runs in the background)
  local child
  for child in $(pgrep -P "$1"); do stop_tree "$child"; done
  kill -TERM "$1" 2>/dev/null
}
trap '[ -n "$lane2" ] && stop_tree "$lane2"; rm -rf "$copy"' EXIT
trap 'exit 130' INT TERM
chmod 755 "$copy" # readable like a checkout: some tests run the helpers as an unprivileged user
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard | tar --null -T - --ignore-failed-read -cf - 2>/dev/null
else
  tar --exclude=./.venv --exclude=./.workbook --exclude=./tests/artifacts -cf - .
fi | tar -xf - -C "$copy"
[ -d .git ] && cp -a .git "$copy/" # tests that list the committed files ask git

log=$artifacts/lane-2.log
echo "lane 2 (the other image store, then the tests that need no engine) runs beside this one: tests/artifacts/lane-2.log"
(
  status=0
  (cd "$copy" && PY=$PY PYTHONPATH=$copy WORKBOOK_DURATIONS="$artifacts/durations/second-store.csv" \
    bash scripts/test-second-store.sh) || status=$?
  no_engine_tests || status=$?
  exit "$status"
) >"$log" 2>&1 &
lane2=$!

status=0
engine_tests || status=$?
wait "$lane2" || status=$?
lane2=""
echo
echo "======================== lane 2 (tests/artifacts/lane-2.log) ========================"
cat "$log"
exit "$status"
