#!/bin/sh
# Runs before the main command (CMD, or whatever `docker run IMAGE ...` passes):
# prepare the container, say what was done, then hand PID 1 over to the command with exec.
set -eu

config=/app/instance/config.json
export APP_ENV="${APP_ENV:-production}"
if python - "$config" 2>/dev/null <<'PY'
import json, os, sys
settings = {"APP_ENV": os.environ["APP_ENV"]}
if os.environ.get("APP_GREETING"):
    settings["GREETING"] = os.environ["APP_GREETING"]
with open(sys.argv[1], "w") as f:
    json.dump(settings, f)
PY
then
    echo "entrypoint: wrote $config: $(cat "$config")"
else
    # e.g. `docker run --read-only`: say so plainly and start with the app's defaults.
    echo "entrypoint: could not write $config (read-only filesystem?); the app uses its defaults" >&2
fi
echo "entrypoint: exec $*"

# exec replaces this shell, so the command becomes PID 1 and receives SIGTERM on `docker stop`.
exec "$@"
