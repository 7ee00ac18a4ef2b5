#!/usr/bin/env bash
# A rootlesskit killed with SIGKILL leaves its state dir behind (lock,
# child_pid, api.sock...); a new one on the same --state-dir, with a network
# and a port driver, must start and serve its API there (the stale socket
# replaced, not refused). Everything the killed one started is gone.
source "$(dirname "$0")/integration-lib.sh"
begin "$@"
say "testing $ROOTLESSKIT with $ROOTLESSCTL"
state="$RK_TMP/state"
mkdir "$state"
flags=(--state-dir="$state" --net=slirp4netns --disable-host-loopback --port-driver=builtin)

bg_job /dev/null "$RK_TMP/err" "$ROOTLESSKIT" "${flags[@]}" sleep 1000
rk=$BG_PID
wait_until 30 test -S "$state/api.sock" -a -s "$state/child_pid" || fail "first run did not come up: $(cat "$RK_TMP/err")"
"$ROOTLESSCTL" --socket "$state/api.sock" list-ports >/dev/null || fail "first run: the API does not answer"
mapfile -t tree < <(pids_of_tree "$rk")
say "first run up (rootlesskit $rk, ${#tree[@]} processes): SIGKILL"
kill -9 "$rk"
wait_exit 10 "$rk"
wait_until 10 none_alive "${tree[@]}" || fail "processes of the killed rootlesskit still run"
[ -e "$state/child_pid" ] && [ -S "$state/api.sock" ] || fail "expected the killed run's files in $state: $(ls -A "$state")"
say "ok: everything it started died; stale files remain: $(ls -A "$state" | tr '\n' ' ')"

# Restarted on the same dir; CMD asks the API through ROOTLESSKIT_STATE_DIR.
out="$("$ROOTLESSKIT" "${flags[@]}" sh -c "'$ROOTLESSCTL' --socket \"\$ROOTLESSKIT_STATE_DIR/api.sock\" list-ports && '$ROOTLESSCTL' --socket \"\$ROOTLESSKIT_STATE_DIR/api.sock\" info" 2>"$RK_TMP/err2")" ||
  fail "restart on the same state dir failed: $(cat "$RK_TMP/err2") $out"
echo "$out" | grep -q '^ID *PROTO *PARENTIP' || fail "list-ports after the restart printed: $out"
echo "$out" | grep -q 'Port Driver: builtin' || fail "info after the restart printed: $out"
say "ok: restarted on the same state dir, the API answers (list-ports, info)"
say "PASS"
