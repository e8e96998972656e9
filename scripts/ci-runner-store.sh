#!/usr/bin/env bash
# GitHub's hosted runners only: switch the runner's own Docker engine to one image store
# (containerd or classic) and restart it. Never run elsewhere: the workbook does not
# reconfigure an engine it did not start (scripts/setup-engine.sh only checks those).
set -euo pipefail
store=${1:?usage: ci-runner-store.sh containerd|classic}
[ "${GITHUB_ACTIONS:-}" = "true" ] || { echo "ci-runner-store.sh runs on GitHub's hosted runners only" >&2; exit 2; }
case "$store" in
  containerd) snapshotter=true ;;
  classic) snapshotter=false ;;
  *) echo "unknown image store '$store': containerd or classic" >&2; exit 2 ;;
esac
config=/etc/docker/daemon.json
[ -s "$config" ] || echo '{}' >"$config"
python3 - "$config" "$snapshotter" <<'PY'
import json, sys
path, on = sys.argv[1], sys.argv[2] == "true"
config = json.load(open(path))
config.setdefault("features", {})["containerd-snapshotter"] = on
json.dump(config, open(path, "w"), indent=2)
PY
systemctl restart docker
for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
docker info --format 'engine {{.ServerVersion}}, {{.Architecture}}, storage {{.Driver}} {{.DriverStatus}}'
