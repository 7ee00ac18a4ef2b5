#!/usr/bin/env bash
# Rootless Docker with the socket bypass: Debian's dockerd-rootless.sh,
# unchanged, on the rootlesskit under test with --net=builtin and
# DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS="--debug --bypass" (then
# "--debug --bypass --bypass-nested"), in a "host" network namespace made
# here (192.0.2.201) joined by a veth to a "remote" one (192.0.2.202) that
# serves files over HTTP; no other network is touched. For each:
# - dockerd's own connection: `docker import http://REMOTE/image.tar`
#   (dockerd downloads it) goes through a host socket: rootlesskit's --debug
#   line names dockerd's pid, /v1/info's bypass.bypassed counts it;
# - a container on Docker's bridge (a nested network namespace) fetches a
#   128 MiB file from the remote, intact (sha256): with --bypass alone it
#   takes the namespace path (counted as left, no --debug line for its pid);
#   with --bypass-nested it goes through a host socket (a --debug line for
#   the container's wget);
# - a `--network host` container (rootlesskit's own namespace) is bypassed
#   with --bypass alone.
# Then SIGTERM to rootlesskit: exit 0, nothing left.
# Needs root for its own set-up (the namespaces); the daemon runs as
# RK_TEST_USER (rktest). Exit 77 (skipped) without root or Docker.
source "$(dirname "$0")/integration-lib.sh"
begin --as-root "$@"
[ "$(id -u)" = 0 ] || { say "SKIP: needs root (it makes the host and remote network namespaces)"; exit 77; }
DOCKERD_ROOTLESS="${DOCKERD_ROOTLESS:-/usr/share/docker.io/contrib/dockerd-rootless.sh}"
DOCKER="${DOCKER:-/usr/bin/docker}"
[ -x "$DOCKERD_ROOTLESS" ] && [ -x "$DOCKER" ] || { say "SKIP: no $DOCKERD_ROOTLESS or $DOCKER: apt-get install docker.io"; exit 77; }
for tool in dockerd:docker.io containerd:containerd busybox:busybox python3:python3 curl:curl nsenter:util-linux ip:iproute2; do
  command -v "${tool%%:*}" >/dev/null || fail "${tool%%:*} is missing: apt-get install ${tool#*:}"
done
user="$RK_TEST_USER"
hns="rk-dbh-$$" rns="rk-dbr-$$"
HOST4=192.0.2.201 REMOTE4=192.0.2.202 port=8080
chmod 0711 "$RK_TMP"
mkdir -m 0755 "$RK_TMP/bin" "$RK_TMP/www"
ln -s "$ROOTLESSKIT" "$RK_TMP/bin/rootlesskit"
mkdir -m 0700 "$RK_TMP/docker-config"
RK_RUN_PID=""
RK_USERNS=""
stop_daemon() {
  [ -n "$RK_RUN_PID" ] || return 0
  local tree p
  tree="$(pids_of_tree "$RK_RUN_PID" | paste -sd ' ')"
  kill -TERM "$RK_RUN_PID" 2>/dev/null || true
  # shellcheck disable=SC2086
  wait_until 30 none_alive $tree || for p in $tree; do kill -KILL "$p" 2>/dev/null || true; done
  EXIT_CODE=0
  wait "$RK_RUN_PID" 2>/dev/null || EXIT_CODE=$?
  for p in $(ip netns pids "$hns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
  if [ -n "$RK_USERNS" ]; then
    for p in /proc/[0-9]*; do [ "$(readlink "$p/ns/user" 2>/dev/null)" = "$RK_USERNS" ] && kill -KILL "${p#/proc/}" 2>/dev/null; done
  fi
  rm -rf --one-file-system "$RK_TMP/d"
  RK_RUN_PID="" RK_USERNS=""
  return 0
}
teardown() {
  stop_daemon || true
  ip netns del "$hns" 2>/dev/null || true
  ip netns del "$rns" 2>/dev/null || true
}
RK_CLEANUP_HOOKS+=(teardown)

# The two namespaces; the host's resolv.conf names the host itself (nothing
# answers there: no name ever leaves for a real resolver).
ip netns add "$hns"
ip netns add "$rns"
ip -n "$hns" link add rkdbh0 type veth peer name rkdbr0 netns "$rns"
ip -n "$hns" addr add "$HOST4/24" dev rkdbh0
ip -n "$rns" addr add "$REMOTE4/24" dev rkdbr0
for ns in "$hns" "$rns"; do ip -n "$ns" link set lo up; done
ip -n "$hns" link set rkdbh0 up
ip -n "$rns" link set rkdbr0 up
echo "nameserver $HOST4" >"$RK_TMP/resolv.conf"
chmod 0644 "$RK_TMP/resolv.conf"

# The image (busybox and its libraries) and a 128 MiB file, served by the remote.
root="$RK_TMP/rootfs"
mkdir -p "$root/bin" "$root/tmp"
cp "$(command -v busybox)" "$root/bin/busybox"
for lib in $(ldd "$root/bin/busybox" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
for applet in sh wget sha256sum cat sleep; do ln -s busybox "$root/bin/$applet"; done
tar --owner=0 --group=0 -C "$root" -cf "$RK_TMP/www/image.tar" .
head -c $((128 << 20)) /dev/urandom >"$RK_TMP/www/big"
want="$(sha256sum <"$RK_TMP/www/big" | cut -d' ' -f1)"
chmod -R a+rX "$RK_TMP/www"
bg_job "$RK_TMP/http.out" "$RK_TMP/http.log" ip netns exec "$rns" python3 -m http.server -b "$REMOTE4" -d "$RK_TMP/www" "$port"
wait_until 10 ip netns exec "$hns" curl -fsS -m 1 -o /dev/null "http://$REMOTE4:$port/image.tar" || fail "the remote's HTTP server does not answer: $(cat "$RK_TMP/http.log")"

docker() { DOCKER_HOST="unix://$RK_TMP/d/xdg/docker.sock" DOCKER_CONFIG="$RK_TMP/docker-config" timeout -s KILL 120 "$DOCKER" "$@"; }
info_bypass() { curl -fsS --unix-socket "$state/api.sock" http://rk/v1/info | python3 -c "import json,sys; print(json.load(sys.stdin)['bypass']['$1'])"; }
# debug_pids: the pids rootlesskit's --debug lines name as bypassed to the remote.
debug_pids() { { grep -o "bypass: tcp to $REMOTE4:$port from pid [0-9]*" "$log" || true; } | awk '{print $NF}' | sort -u; }

for flags in "--bypass" "--bypass --bypass-nested"; do
  say "== dockerd-rootless.sh, --net=builtin, DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS=\"--debug $flags\""
  install -d -m 0700 -o "$user" -g "$(id -gn "$user")" "$RK_TMP/d"
  setpriv --reuid="$user" --regid="$user" --init-groups -- mkdir -m 0700 "$RK_TMP/d/xdg" "$RK_TMP/d/home" "$RK_TMP/d/data"
  log="$RK_TMP/dockerd-${flags// /}.log"
  # nsenter, not `ip netns exec` (that one remounts /sys and hides the cgroup
  # mounts runc needs); a mount namespace of its own for resolv.conf.
  nsenter --net="/run/netns/$hns" unshare --mount -- \
    sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$RK_TMP/resolv.conf" \
    setpriv --reuid="$user" --regid="$user" --init-groups --reset-env -- \
    env PATH="$RK_TMP/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    HOME="$RK_TMP/d/home" USER="$user" LOGNAME="$user" LANG=C.UTF-8 XDG_RUNTIME_DIR="$RK_TMP/d/xdg" \
    RK_TEST_DNS_UPSTREAM=127.0.0.1:9 DOCKERD_ROOTLESS_ROOTLESSKIT_NET=builtin \
    DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS="--debug $flags" \
    "$DOCKERD_ROOTLESS" --data-root "$RK_TMP/d/data" -H "unix://$RK_TMP/d/xdg/docker.sock" >"$log" 2>&1 &
  RK_RUN_PID=$!
  wait_until 90 docker version || fail "$flags: the daemon did not come up: $(tail -20 "$log")"
  dockerd="$(pgrep -x dockerd -P "$(pids_of_tree "$RK_RUN_PID" | paste -sd,)")" || fail "$flags: no dockerd under rootlesskit"
  RK_USERNS="$(readlink "/proc/$dockerd/ns/user")"
  state="$(tr '\0' '\n' <"/proc/$dockerd/environ" | sed -n 's/^ROOTLESSKIT_STATE_DIR=//p')"
  [ "$(info_bypass enabled)" = True ] || fail "$flags: /v1/info does not say bypass is on"

  # dockerd's own connection: it downloads the image itself.
  before="$(info_bypass bypassed)"
  out="$(docker import "http://$REMOTE4:$port/image.tar" rk-busybox:bypass 2>&1)" || fail "$flags: docker import from the remote: $out"
  wait_until 5 sh -c "grep -q 'from pid $dockerd through a host socket' '$log'" ||
    fail "$flags: no --debug line for dockerd's ($dockerd) connection to $REMOTE4:$port: $(grep -i bypass "$log" | tail -5) $(curl -sS --unix-socket "$state/api.sock" http://rk/v1/info)"
  [ "$(info_bypass bypassed)" -gt "$before" ] || fail "$flags: /v1/info bypass.bypassed did not grow with dockerd's download"
  say "ok: dockerd's own download (docker import http://$REMOTE4:$port/image.tar) went through a host socket"

  # A container on Docker's bridge: a nested network namespace.
  before_left="$(info_bypass left)" before="$(info_bypass bypassed)"
  known="$(debug_pids | paste -sd ' ')"
  t0=$(date +%s.%N)
  got="$(docker run --rm rk-busybox:bypass sh -c "wget -q -O - http://$REMOTE4:$port/big | sha256sum")" || fail "$flags: the bridge container's fetch failed: $got"
  secs="$(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $t0 }")"
  [ "${got%% *}" = "$want" ] || fail "$flags: the bridge container got a different file: ${got%% *}, want $want"
  new="$(comm -13 <(echo "$known" | tr ' ' '\n' | sort) <(debug_pids))"
  case "$flags" in
    *--bypass-nested*)
      [ -n "$new" ] || fail "$flags: the bridge container's connection has no --debug line (not bypassed)"
      [ "$(info_bypass bypassed)" -gt "$before" ] || fail "$flags: bypass.bypassed did not grow"
      say "ok: a bridge container fetched 128 MiB from the remote, intact, through a host socket (pid $new; $secs s with docker run)" ;;
    *)
      [ -z "$new" ] || fail "$flags: the bridge container (a nested namespace) was bypassed without --bypass-nested (pids $new)"
      [ "$(info_bypass left)" -gt "$before_left" ] || fail "$flags: bypass.left did not grow"
      say "ok: a bridge container fetched 128 MiB from the remote, intact, through the namespace (left: nested namespace; $secs s with docker run)" ;;
  esac

  # A --network host container: rootlesskit's own namespace.
  known="$(debug_pids | paste -sd ' ')"
  got="$(docker run --rm --network host rk-busybox:bypass sh -c "wget -q -O - http://$REMOTE4:$port/big | sha256sum")" || fail "$flags: the host-network container's fetch failed: $got"
  [ "${got%% *}" = "$want" ] || fail "$flags: the host-network container got a different file"
  new="$(comm -13 <(echo "$known" | tr ' ' '\n' | sort) <(debug_pids))"
  [ -n "$new" ] || fail "$flags: the --network host container's connection was not bypassed"
  say "ok: a --network host container fetched the file through a host socket (pid $new)"

  stop_daemon
  [ "$EXIT_CODE" = 0 ] || fail "$flags: rootlesskit exited $EXIT_CODE after SIGTERM: $(tail -5 "$log")"
  [ ! -e "$state" ] || fail "$flags: state dir $state left behind"
  say "ok: stopped: exit 0, state dir gone"
done
say "PASS"
