#!/usr/bin/env bash
# The project's test command (`npm test`): builds once, runs every package's unit
# tests (nx), the integration tests of the real commands (test/, run as the
# unprivileged user RK_TEST_USER when started as root; hack/test-user.sh creates
# it), hack/test.sh and hack/integration-*.sh.
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
# hack/integration-*.sh (rootless Docker, and the behaviour upstream's own
# integration scripts check): one test each; exit 77 = skipped.
scripts_passed=0 scripts_failed=0 scripts_skipped=0
export RK_DOCKER_RUNS="${RK_DOCKER_RUNS-builtin/builtin}"  # Docker on our embedded NAT too
for script in hack/integration-*.sh; do
  [ "$script" = hack/integration-lib.sh ] && continue
  echo "=== $script"
  bash "$script" 2>&1
  case $? in
    0) scripts_passed=$((scripts_passed + 1)) ;;
    77) scripts_skipped=$((scripts_skipped + 1)) ;;
    *) scripts_failed=$((scripts_failed + 1)); echo "=== FAILED: $script" ;;
  esac
done

# tap ends each run with "# { total: N, pass: N, fail: N, ... }"
read -r pass fail < <(grep -E '^# \{ total:' "$log" | awk '
  { p = 0; f = 0
    if (match($0, /pass: [0-9]+/)) p = substr($0, RSTART + 6, RLENGTH - 6)
    if (match($0, /fail: [0-9]+/)) f = substr($0, RSTART + 6, RLENGTH - 6)
    P += p; F += f }
  END { print P + 0, F + 0 }')
if [ "$pipeline" = 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
pass=$((pass + scripts_passed))
fail=$((fail + scripts_failed))
if [ "$unit" != 0 ] && [ "$fail" = 0 ]; then fail=1; fi
if [ "$integ" != 0 ] && [ "$fail" = 0 ]; then fail=1; fi
if [ "$scripts_skipped" = 0 ]; then echo "$pass passed, $fail failed"; else echo "$pass passed, $fail failed, $scripts_skipped skipped"; fi
[ "$unit" = 0 ] && [ "$integ" = 0 ] && [ "$pipeline" = 0 ] && [ "$scripts_failed" = 0 ]
