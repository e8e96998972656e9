#!/usr/bin/env bash
# `make test`: every test; the parts below run in two lanes at once (one per core), or with
# WORKBOOK_LANES=1 one after the other:
#   lane 1: the engine tests and notebooks on the workbook's engine, in this checkout;
#   lane 2: the same on the other image store (scripts/test-second-store.sh: a second daemon),
#           then the tests that need no engine (with no engine reachable), each in a copy of
#           this checkout's files, since lessons and tests write work folders under the checkout.
# The lanes share the machine's cores and nothing else: other daemons, other folders. Lane 2's
# log is printed when both are done; any part failing fails the run. Each part writes its
# tests' seconds to tests/artifacts/durations/ (engine.csv, second-store.csv, no-engine.csv).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
PY=${PY:-.venv/bin/python}
case "$PY" in /*) ;; */*) PY=$root/$PY ;; esac
artifacts=$root/tests/artifacts
rm -f "$artifacts"/durations/*.csv
mkdir -p "$artifacts/durations"
NBVAL=(--nbval --nbval-sanitize-with tests/nbval-sanitize.cfg --nbval-current-env -p no:cacheprovider)
NO_ENGINE=unix:///nonexistent/docker.sock

engine_tests() {
  WORKBOOK_DURATIONS="$artifacts/durations/engine.csv" "$PY" -m pytest -m engine tests notebooks "${NBVAL[@]}" \
    --durations=30
}
no_engine_tests() { # in the current folder, whose helpers PYTHONPATH names
  DOCKER_HOST=$NO_ENGINE WORKBOOK_DURATIONS="$artifacts/durations/no-engine.csv" \
    "$PY" -m pytest -m "not engine" tests -p no:cacheprovider --durations=15
}

if [ "${WORKBOOK_STORES_BY_MATRIX:-}" = "1" ] || [ "${WORKBOOK_LANES:-2}" != "2" ]; then
  # One after the other (WORKBOOK_LANES=1; the GitHub workflow's jobs, where the matrix runs
  # the other image store, so test-second-store.sh only says so).
  status=0
  engine_tests || status=$?
  no_engine_tests || status=$?
  PY=$PY bash scripts/test-second-store.sh || status=$?
  exit "$status"
fi

copies=()
lane2=""
stop_tree() { # a process and everything it started (lane 2 runs in the background, past Ctrl-C)
  local child
  for child in $(pgrep -P "$1"); do stop_tree "$child"; done
  kill -TERM "$1" 2>/dev/null
}
cleanup() {
  [ -n "$lane2" ] && stop_tree "$lane2"
  local copy
  for copy in "${copies[@]}"; do
    # what lane 2's tests left for people to look at (screenshots, the built site's checks)
    [ -d "$copy/tests/artifacts" ] && cp -r "$copy/tests/artifacts/." "$artifacts/" 2>/dev/null
    rm -rf "$copy" 2>/dev/null || sudo rm -rf "$copy" # the second store's run may own files
  done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fill_copy() { # the checkout's files (and .git: some tests list the committed files) into $1
  local copy=$1
  chmod 755 "$copy" # readable like a checkout: some tests run the helpers as an unprivileged user
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard | tar --null -T - --ignore-failed-read -cf - 2>/dev/null \
      | tar -xf - -C "$copy" || return 1
  else
    tar --exclude=./.venv --exclude=./.workbook --exclude=./tests/artifacts -cf - . | tar -xf - -C "$copy" || return 1
  fi
  if [ -d .git ]; then cp -a .git "$copy/" || return 1; fi
  [ -f "$copy/scripts/test-second-store.sh" ]
}
for lane_part in store plain; do
  copy=$(mktemp -d "${TMPDIR:-/var/tmp}/workbook-lane-2-$lane_part.XXXXXX") && copies+=("$copy") && fill_copy "$copy" || {
    echo "could not copy the checkout for lane 2 into ${TMPDIR:-/var/tmp} (free space?); \`make test-second-store\` runs the other store alone" >&2
    exit 1
  }
done
store_copy=${copies[0]} plain_copy=${copies[1]}

log=$artifacts/lane-2.log
echo "lane 2 (the other image store, then the tests that need no engine) runs beside this one: tests/artifacts/lane-2.log"
(
  status=0
  (cd "$store_copy" && PY=$PY PYTHONPATH=$store_copy WORKBOOK_ROOT=$store_copy \
    WORKBOOK_DURATIONS="$artifacts/durations/second-store.csv" bash scripts/test-second-store.sh) || status=$?
  (cd "$plain_copy" && PYTHONPATH=$plain_copy WORKBOOK_ROOT=$plain_copy no_engine_tests) || status=$?
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
