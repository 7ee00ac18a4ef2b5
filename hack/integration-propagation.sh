#!/usr/bin/env bash
# --propagation: whether a mount made on the host after rootlesskit started
# shows up inside (slave, rslave, shared, rshared) or not (private,
# rprivate), while what was there before the mount stays visible only to
# private ones; and --copy-up=/run combined with each: it runs with the
# private and slave kinds, and the shared kinds are refused with the reason.
#
# Needs root: the host-side mounts are made by root, in a private mount
# namespace of this script's own whose / is made shared (as on a systemd
# host; nothing reaches the machine's real mount table). rootlesskit and the
# checks run as RK_TEST_USER.
source "$(dirname "$0")/integration-lib.sh"
if [ "$(id -u)" != 0 ]; then
  say "SKIP: needs root (it mounts a tmpfs on the host side); the rootlesskit under test runs as $RK_TEST_USER"
  exit 77
fi
if [ "${1:-}" != --in-own-mount-ns ]; then
  exec unshare --mount --propagation unchanged -- bash "$0" --in-own-mount-ns
fi
begin --as-root
mount --make-rprivate /  # cut every tie to the real mount table first
mount --make-rshared /
findmnt -n -o PROPAGATION / | grep -q shared || fail "could not make / shared in the private mount namespace"
say "testing $ROOTLESSKIT (as $RK_TEST_USER; / is shared here)"
chown "$RK_TEST_USER:" "$RK_TMP"

for prop in private rprivate slave rslave shared rshared; do
  d="$RK_TMP/$prop"
  as_user mkdir -p "$d/a"
  as_user touch "$d/a/before_mount"
  # CMD says when it runs: by then the propagation is set inside (child_pid
  # may be written before that, by upstream as by us).
  bg_job /dev/null "$RK_TMP/err" "${AS_USER[@]}" "$ROOTLESSKIT" --state-dir="$d/state" --propagation="$prop" -- \
    sh -c "echo >'$d/running'; exec sleep 1000"
  rk=$BG_PID
  wait_until 20 test -e "$d/running" || fail "$prop: CMD did not start: $(cat "$RK_TMP/err")"
  pid="$(cat "$d/state/child_pid")"
  mount -t tmpfs -o mode=0755,uid="$(id -u "$RK_TEST_USER")" rk-propagation "$d/a"
  as_user touch "$d/a/after_mount"
  # What CMD sees of $d/a: the directory underneath, or the tmpfs mounted now.
  case $prop in
    private | rprivate) want_before=yes want_after=no ;;
    *) want_before=no want_after=yes ;;
  esac
  got_before=no got_after=no
  as_user test -e "/proc/$pid/root$d/a/before_mount" && got_before=yes
  as_user test -e "/proc/$pid/root$d/a/after_mount" && got_after=yes
  umount "$d/a"
  kill -TERM "$pid"
  wait_exit 20 "$rk"
  [ "$got_before:$got_after" = "$want_before:$want_after" ] ||
    fail "--propagation=$prop: inside, the file from before the host's mount is there: $got_before (want $want_before), the file on the new mount: $got_after (want $want_after)"
  say "ok: --propagation=$prop: the host's new mount $([ "$want_after" = yes ] && echo "shows up" || echo "stays out") inside"

  set +e
  out="$(as_user "$ROOTLESSKIT" --propagation="$prop" --copy-up=/run sh -c 'echo copied-up >/run/rk-propagation-test && cat /run/rk-propagation-test' 2>&1)"
  code=$?
  set -e
  [ ! -e /run/rk-propagation-test ] || fail "--propagation=$prop --copy-up=/run: the file written inside reached the host's /run"
  case $prop in
    shared | rshared)
      [ "$code" != 0 ] && echo "$out" | grep -q "does not support copy-up" ||
        fail "--propagation=$prop --copy-up=/run: want a refusal naming copy-up, got exit $code: $out"
      say "ok: --propagation=$prop --copy-up=/run refused: $(echo "$out" | head -1)"
      ;;
    *)
      [ "$code" = 0 ] && [ "$out" = copied-up ] || fail "--propagation=$prop --copy-up=/run: exit $code: $out"
      say "ok: --propagation=$prop --copy-up=/run: /run writable inside, the host's untouched"
      ;;
  esac
done
say "PASS"
