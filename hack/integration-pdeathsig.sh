#!/usr/bin/env bash
# rootlesskit killed with SIGKILL (no chance to clean up) takes CMD with it:
# CMD dies by the parent-death signal, even one that ignores SIGTERM and
# SIGHUP, with the PID-1 reaper (--pidns --reaper=true) and without it
# (--reaper=false); nothing is left reparented to init.
source "$(dirname "$0")/integration-lib.sh"
begin "$@"
say "testing $ROOTLESSKIT"

n=0
for mode in "--pidns --reaper=true" "--reaper=false"; do
  rm -f "$RK_TMP/running"
  n=$((n + 1))
  # The state dir under RK_TMP: a SIGKILLed rootlesskit cannot remove its own.
  # shellcheck disable=SC2086
  bg_job /dev/null "$RK_TMP/err" "$ROOTLESSKIT" --state-dir "$RK_TMP/state-$n" $mode \
    bash -c "trap '' TERM HUP; echo >'$RK_TMP/running'; while :; do sleep 1; done"
  rk=$BG_PID
  wait_until 20 test -e "$RK_TMP/running" || fail "$mode: CMD did not start: $(cat "$RK_TMP/err")"
  mapfile -t tree < <(pids_of_tree "$rk" | grep -vx "$rk")
  [ "${#tree[@]}" -ge 1 ] || fail "$mode: no process under rootlesskit ($rk)"
  cmd_pids=()
  for p in "${tree[@]}"; do
    if [ "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" = "bash -c trap '' TERM HUP; echo >'$RK_TMP/running'; while :; do sleep 1; done " ]; then cmd_pids+=("$p"); fi
  done
  [ "${#cmd_pids[@]}" = 1 ] || fail "$mode: CMD not found among rootlesskit's descendants (${tree[*]})"
  say "$mode: rootlesskit $rk, CMD ${cmd_pids[0]}, descendants ${tree[*]}: SIGKILL to rootlesskit"
  kill -9 "$rk"
  wait_exit 10 "$rk"
  wait_until 10 none_alive "${tree[@]}" ||
    fail "$mode: still running 10s after rootlesskit was killed: $(for p in "${tree[@]}"; do alive "$p" && ps -o pid=,ppid=,args= -p "$p"; done)"
  say "ok: $mode: CMD and every other descendant died with rootlesskit"
done
say "PASS"
