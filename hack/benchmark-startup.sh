#!/usr/bin/env bash
# Start-up cost: our `rootlesskit true` beside Debian's (Go) `rootlesskit true`
# and a bare `node -e 0`, medians of RUNS runs each, from one run of this script.
# Target: ours - node <= upstream (at most one Node start on top of upstream).
# Also --copy-up=/etc --copy-up=/run in both copy-up modes (tmpfs+symlink and
# overlayfs; where /run has mounts from outside, overlayfs is refused there, so
# auto is what is measured): target overlayfs within 10% of tmpfs+symlink.
# Run as a user with subuid/subgid entries; as root it re-runs as RK_TEST_USER.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
. hack/script-lib.sh
RK_PASS_ENV="RUNS" as_test_user "$@"
runs="${RUNS:-40}"
ours="$root/node_modules/.bin/rootlesskit"
json="$(mktemp /tmp/rk-bench.XXXXXX.json)"
trap 'rm -f "$json"' EXIT
cd /tmp
hyperfine -N --warmup 5 --runs "$runs" --export-json "$json" \
  -n 'node -e 0' 'node -e 0' \
  -n 'upstream rootlesskit true' '/usr/bin/rootlesskit true' \
  -n 'ours rootlesskit true' "$ours true" \
  -n 'ours copy-up tmpfs+symlink' "$ours --copy-up=/etc --copy-up=/run true" \
  -n 'ours copy-up auto' "$ours --copy-up=/etc --copy-up=/run --copy-up-mode=auto true" >/dev/null
python3 - "$json" <<'PY'
import json, sys
r = {x["command"]: x["median"] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
node, up, ours = r["node -e 0"], r["upstream rootlesskit true"], r["ours rootlesskit true"]
print(f"{'command':<28}{'median ms':>10}")
for k in ("node -e 0", "upstream rootlesskit true", "ours rootlesskit true"):
    print(f"{k:<28}{r[k]:>10.1f}")
extra = ours - node
print(f"{'ours - node':<28}{extra:>10.1f}")
print(f"(ours - node) / upstream = {extra / up:.2f}  (target <= 1.00)")
sym, ovl = r["ours copy-up tmpfs+symlink"], r["ours copy-up auto"]
print(f"{'copy-up /etc /run: tmpfs+symlink':<36}{sym:>10.1f}")
print(f"{'copy-up /etc /run: auto (overlayfs)':<36}{ovl:>10.1f}")
print(f"auto / tmpfs+symlink = {ovl / sym:.2f}  (target <= 1.10)")
PY
