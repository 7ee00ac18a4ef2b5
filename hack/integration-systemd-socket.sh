#!/usr/bin/env bash
# systemd socket activation through rootlesskit: the listening sockets
# (fds 3...) reach CMD with LISTEN_FDS unchanged and LISTEN_PID set to CMD's
# own PID inside the namespaces, so a socket-activated daemon (uuidd here)
# serves its clients. systemd-socket-activate plays systemd's part.
source "$(dirname "$0")/integration-lib.sh"
begin "$@"
say "testing $ROOTLESSKIT"
for tool in systemd-socket-activate:systemd uuidd:uuid-runtime socat:socat; do
  command -v "${tool%%:*}" >/dev/null || fail "${tool%%:*} is missing: apt-get install ${tool#*:}"
done

# uuidd, socket-activated: three client requests, the last one stops it.
sock="$RK_TMP/uuidd.sock"
bg_job "$RK_TMP/uuidd.out" "$RK_TMP/uuidd.err" \
  systemd-socket-activate -l "$sock" "$ROOTLESSKIT" uuidd --no-pid --no-fork --socket-activation
sa=$BG_PID
wait_until 20 test -S "$sock" || fail "systemd-socket-activate did not listen: $(cat "$RK_TMP/uuidd.err")"
random="$(uuidd -d -r -n 1 -s "$sock" 2>&1)" || fail "uuidd -r through the activated daemon: $random $(cat "$RK_TMP/uuidd.err")"
echo "$random" | grep -Eq '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-' || fail "no random (v4) UUID from the daemon: $random"
timed="$(uuidd -d -t -n 1 -s "$sock" 2>&1)" || fail "uuidd -t through the activated daemon: $timed"
echo "$timed" | grep -Eq '[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-' || fail "no time-based (v1) UUID from the daemon: $timed"
uuidd -d -k -s "$sock" >/dev/null 2>&1 || fail "uuidd -k: the daemon did not take the request to stop"
wait_exit 20 "$sa"
[ "$EXIT_CODE" = 0 ] || fail "the activated uuidd under rootlesskit exited $EXIT_CODE: $(cat "$RK_TMP/uuidd.err")"
say "ok: uuidd socket-activated through rootlesskit served v4 and v1 UUIDs and stopped on request"

# LISTEN_* as CMD sees it, with 1, 2 and 3 sockets.
# (systemd-socket-activate passes CMD no environment but LISTEN_*: arguments then.)
check='
  WANT=$1 RESULT=$2
  fail() { echo "$*" >"$RESULT"; exit 1; }
  [ "${LISTEN_FDS:-}" = "$WANT" ] || fail "LISTEN_FDS=${LISTEN_FDS:-unset}, want $WANT"
  [ "${LISTEN_PID:-}" = "$$" ] || fail "LISTEN_PID=${LISTEN_PID:-unset}, CMD is $$"
  for ((fd = 3; fd < 3 + WANT; fd++)); do
    case "$(readlink /proc/$$/fd/$fd)" in socket:*) ;; *) fail "fd $fd is not a socket" ;; esac
  done
  [ ! -e /proc/$$/fd/$((3 + WANT)) ] || fail "fd $((3 + WANT)) should not be open"
  echo ok >"$RESULT"'
for n in 1 2 3; do
  listen=()
  for i in $(seq 1 "$n"); do listen+=(-l "$RK_TMP/s$n-$i.sock"); done
  bg_job /dev/null "$RK_TMP/env.err" \
    systemd-socket-activate "${listen[@]}" "$ROOTLESSKIT" bash -c "$check" check-listen-env "$n" "$RK_TMP/result$n"
  sa=$BG_PID
  wait_until 20 test -S "$RK_TMP/s$n-$n.sock" || fail "$n sockets: systemd-socket-activate did not listen"
  socat -u OPEN:/dev/null "UNIX-CONNECT:$RK_TMP/s$n-1.sock" || fail "$n sockets: cannot connect to the first"
  wait_exit 20 "$sa"
  [ "$(cat "$RK_TMP/result$n" 2>/dev/null)" = ok ] ||
    fail "$n sockets: $(cat "$RK_TMP/result$n" 2>/dev/null || echo "CMD did not run") $(cat "$RK_TMP/env.err")"
  [ "$EXIT_CODE" = 0 ] || fail "$n sockets: exit $EXIT_CODE: $(cat "$RK_TMP/env.err")"
  say "ok: $n socket(s): LISTEN_FDS=$n, LISTEN_PID = CMD's PID, fds 3..$((2 + n)) are the sockets"
done
say "PASS"
