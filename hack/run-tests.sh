#!/usr/bin/env bash
# The project's test command (`npm test`): builds once, runs every package's unit
# tests (nx), the integration tests of the real commands (test/, run as the
# unprivileged user RK_TEST_USER when started as root; hack/test-user.sh creates
# it), and hack/test.sh.
# Ends with a line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false FORCE_COLOR=0
log="$(mktemp /tmp/rk-tests.XXXXXX)"
trap 'rm -f "$log"' EXIT

# As root, the integration tests run the commands as an unprivileged user:
# make sure it (and its subordinate IDs) exist — idempotent.
if [ "$(id -u)" = 0 ] && ! bash hack/test-user.sh; then
  echo "test user set-up failed"
  echo "0 passed, 1 failed"
  exit 1
fi

if ! npx nx run-many -t build --outputStyle=static --skip-nx-cache; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi
npx nx run-many -t test --outputStyle=static --skip-nx-cache --parallel=1 --exclude=@rk/integration-tests --excludeTaskDependencies 2>&1 | tee -a "$log"
unit=${PIPESTATUS[0]}
(cd test && npx tap) 2>&1 | tee -a "$log"
integ=${PIPESTATUS[0]}
bash hack/test.sh 2>&1 | tee -a "$log"
pipeline=${PIPESTATUS[0]}

# tap ends each run with "# { total: N, pass: N, fail: N, ... }"
read -r pass fail < <(grep -E '^# \{ total:' "$log" | awk '
  { p = 0; f = 0
    if (match($0, /pass: [0-9]+/)) p = substr($0, RSTART + 6, RLENGTH - 6)
    if (match($0, /fail: [0-9]+/)) f = substr($0, RSTART + 6, RLENGTH - 6)
    P += p; F += f }
  END { print P + 0, F + 0 }')
if [ "$pipeline" = 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
if [ "$unit" != 0 ] && [ "$fail" = 0 ]; then fail=1; fi
if [ "$integ" != 0 ] && [ "$fail" = 0 ]; then fail=1; fi
echo "$pass passed, $fail failed"
[ "$unit" = 0 ] && [ "$integ" = 0 ] && [ "$pipeline" = 0 ]
