#!/usr/bin/env bash
# Exit statuses and exit reasons, with and without a PID namespace and its
# reaper: CMD's own code comes back; a CMD ended by a signal sent to child_pid
# gives 255 and the reason in upstream's words on stderr, which log scrapers
# and scripts grep for ("signal: user defined signal 1").
source "$(dirname "$0")/integration-lib.sh"
begin "$@"
say "testing $ROOTLESSKIT"

modes=("--pidns=false" "--pidns=true --reaper=auto" "--pidns=true --reaper=true" "--pidns=true --reaper=false")
for mode in "${modes[@]}"; do
  for want in 0 1 42 255; do
    set +e
    # shellcheck disable=SC2086
    "$ROOTLESSKIT" $mode sh -c "exit $want" >/dev/null 2>"$RK_TMP/err"
    got=$?
    set -e
    [ "$got" = "$want" ] || fail "$mode: 'exit $want' gave $got: $(cat "$RK_TMP/err")"
  done
  say "ok: $mode: exit codes 0 1 42 255 come back"

  for sig in USR1:"user defined signal 1" TERM:terminated HUP:hangup USR2:"user defined signal 2"; do
    name=${sig%%:*} words=${sig#*:}
    state="$RK_TMP/state-$name"
    rm -f "$RK_TMP/running"
    # CMD says when it runs: upstream writes child_pid before its child
    # forwards signals, and a signal sent in between is lost.
    # shellcheck disable=SC2086
    bg_job /dev/null "$RK_TMP/err" "$ROOTLESSKIT" --state-dir="$state" $mode sh -c "echo >'$RK_TMP/running'; exec sleep 1000"
    wait_until 20 test -e "$RK_TMP/running" || fail "$mode: CMD did not start: $(cat "$RK_TMP/err")"
    [ -s "$state/child_pid" ] || fail "$mode: CMD runs but $state/child_pid is missing"
    kill -"$name" "$(cat "$state/child_pid")"
    wait_exit 20 "$BG_PID"
    [ "$EXIT_CODE" = 255 ] || fail "$mode: SIG$name to child_pid gave $EXIT_CODE, not 255: $(cat "$RK_TMP/err")"
    grep -qF "signal: $words" "$RK_TMP/err" || fail "$mode: SIG$name: stderr does not say \"signal: $words\": $(cat "$RK_TMP/err")"
    [ ! -e "$state/child_pid" ] || fail "$mode: SIG$name: $state/child_pid left behind"
  done
  say "ok: $mode: USR1 TERM HUP USR2 to child_pid give 255 and \"signal: <upstream's words>\""
done
say "PASS"
