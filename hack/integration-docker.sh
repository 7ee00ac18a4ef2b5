#!/usr/bin/env bash
# Rootless Docker, unchanged, on the rootlesskit under test: Debian's
# dockerd-rootless.sh with only PATH pointing `rootlesskit` at it, with
# --net=slirp4netns and the port drivers builtin and slirp4netns
# (DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER), plus the NET/PORT_DRIVER pairs
# in RK_DOCKER_RUNS (CI adds builtin/builtin: our embedded NAT).
# Each run: the daemon comes up and says it is rootless; a container runs as
# uid 0; `docker run -p` publishes a port through Docker's
# rootlesskit-docker-proxy and rootlesskit's /v1/ports, and an HTTP server in
# the container answers on the host's loopback; nsenter into child_pid finds
# the network namespace; `docker rm` withdraws the port; SIGTERM to
# rootlesskit (what a service manager sends) stops everything, leaving no
# process, mount or state dir behind. The image is made here, offline: a
# busybox root imported with `docker import`.
source "$(dirname "$0")/integration-lib.sh"
begin "$@"
say "testing $ROOTLESSKIT"
DOCKERD_ROOTLESS="${DOCKERD_ROOTLESS:-/usr/share/docker.io/contrib/dockerd-rootless.sh}"
DOCKER="${DOCKER:-/usr/bin/docker}"
[ -x "$DOCKERD_ROOTLESS" ] || fail "no $DOCKERD_ROOTLESS: apt-get install docker.io"
[ -x "$DOCKER" ] || fail "no $DOCKER: apt-get install docker.io"
for tool in dockerd:docker.io rootlesskit-docker-proxy:rootlesskit busybox:busybox slirp4netns:slirp4netns nsenter:util-linux; do
  command -v "${tool%%:*}" >/dev/null || fail "${tool%%:*} is missing: apt-get install ${tool#*:}"
done

# `rootlesskit` on PATH is the one under test; nothing else is changed.
mkdir "$RK_TMP/bin"
ln -s "$ROOTLESSKIT" "$RK_TMP/bin/rootlesskit"
export PATH="$RK_TMP/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export XDG_RUNTIME_DIR="$RK_TMP/xdg" DOCKER_CONFIG="$RK_TMP/docker-config"
mkdir -m 0700 "$XDG_RUNTIME_DIR" "$DOCKER_CONFIG"
data="$RK_TMP/data"
export DOCKER_HOST="unix://$XDG_RUNTIME_DIR/docker.sock"
docker() { "$DOCKER" "$@"; }

# The daemon's files belong to subordinate IDs: once it is gone, remove them
# from inside a user namespace, before the scratch dir goes.
remove_daemon_files() {
  "$ROOTLESSKIT" rm -rf "$data" "$XDG_RUNTIME_DIR" 2>/dev/null
}
RK_CLEANUP_HOOKS+=(remove_daemon_files)

# A tiny image: busybox and the libraries it links, a page to serve.
root="$RK_TMP/rootfs"
mkdir -p "$root/bin" "$root/www"
cp "$(command -v busybox)" "$root/bin/busybox"
for lib in $(ldd "$root/bin/busybox" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
for applet in sh id httpd cat ls sleep ip; do ln -s busybox "$root/bin/$applet"; done
echo "hello from a rootless container" >"$root/www/index.html"
tar --owner=0 --group=0 -C "$root" -cf "$RK_TMP/image.tar" .
image=rk-busybox:test

# NET/PORT_DRIVER pairs (DOCKERD_ROOTLESS_ROOTLESSKIT_NET and _PORT_DRIVER);
# RK_DOCKER_RUNS adds more, e.g. "builtin/builtin" for our embedded NAT.
for run in slirp4netns/builtin slirp4netns/slirp4netns ${RK_DOCKER_RUNS:-}; do
  net=${run%/*} driver=${run#*/}
  say "== dockerd-rootless.sh with DOCKERD_ROOTLESS_ROOTLESSKIT_NET=$net DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER=$driver"
  log="$RK_TMP/dockerd-$net-$driver.log"
  bg_job "$log" "$log" env DOCKERD_ROOTLESS_ROOTLESSKIT_NET="$net" DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER="$driver" \
    "$DOCKERD_ROOTLESS" --data-root "$data" -H "$DOCKER_HOST"
  rk=$BG_PID # dockerd-rootless.sh execs rootlesskit
  wait_until 90 docker version || fail "$run: the daemon did not come up: $(tail -20 "$log")"
  args="$(tr '\0' ' ' <"/proc/$rk/cmdline")"
  case $args in *"--net=$net "*"--port-driver=$driver"*"--copy-up=/etc"*"--propagation=rslave"*) ;; *) fail "$run: unexpected rootlesskit command line: $args" ;; esac
  dockerd="$(pgrep -u "$(id -u)" -x dockerd -P "$(pids_of_tree "$rk" | paste -sd,)")" || fail "$run: no dockerd under rootlesskit"
  state="$(tr '\0' '\n' <"/proc/$dockerd/environ" | sed -n 's/^ROOTLESSKIT_STATE_DIR=//p')"
  [ -S "$state/api.sock" ] && [ -s "$state/child_pid" ] || fail "$run: no state dir with api.sock and child_pid at '$state' (dockerd's ROOTLESSKIT_STATE_DIR)"
  say "up: rootlesskit $rk, state dir $state"

  docker info --format '{{json .SecurityOptions}}' | grep -q 'name=rootless' ||
    fail "$run: docker info does not say rootless: $(docker info --format '{{json .SecurityOptions}}')"
  say "ok: docker info: rootless"

  docker image inspect "$image" >/dev/null 2>&1 || docker import "$RK_TMP/image.tar" "$image" >/dev/null
  out="$(docker run --rm "$image" id)" || fail "$run: docker run id failed: $out"
  echo "$out" | grep -q '^uid=0 gid=0' || fail "$run: in the container: $out"
  say "ok: docker run --rm $image id: $out"

  # nsenter on child_pid finds rootlesskit's namespaces (the user's way in).
  out="$(nsenter -U --preserve-credentials -n -m -t "$(cat "$state/child_pid")" ip -o -4 addr show tap0 2>&1)" ||
    fail "$run: nsenter into child_pid: $out"
  echo "$out" | grep -q ' 10\.0\.2\.100/' || fail "$run: no 10.0.2.100 on tap0 inside: $out"
  say "ok: nsenter -U -n -m -t child_pid: tap0 10.0.2.100"

  for host_ip in 127.0.0.1 0.0.0.0; do
    port="$(free_port)"
    name="rk-web-$net-$driver-$port"
    docker run -d --name "$name" -p "$host_ip:$port:80" "$image" httpd -f -p 80 -h /www >/dev/null ||
      fail "$run: docker run -p $host_ip:$port:80 failed: $(tail -5 "$log")"
    wait_until 30 curl -fsS -m 2 -o "$RK_TMP/got" "http://127.0.0.1:$port/" ||
      fail "$run: -p $host_ip:$port:80: nothing on 127.0.0.1:$port: $(curl -sS -m 2 "http://127.0.0.1:$port/" 2>&1) $(tail -5 "$log")"
    [ "$(cat "$RK_TMP/got")" = "hello from a rootless container" ] || fail "$run: got '$(cat "$RK_TMP/got")'"
    ports="$("$ROOTLESSCTL" --socket "$state/api.sock" list-ports)"
    echo "$ports" | grep -Eq "^[0-9]+ +tcp[46]? +$host_ip +$port " ||
      fail "$run: port $host_ip:$port not in rootlesskit's /v1/ports: $ports"
    pgrep -u "$(id -u)" -P "$(pids_of_tree "$rk" | paste -sd,)" -f "rootlesskit-docker-proxy .*-host-port $port( |$)" >/dev/null ||
      fail "$run: no rootlesskit-docker-proxy for port $port"
    say "ok: docker run -p $host_ip:$port:80: the page on 127.0.0.1:$port, via rootlesskit-docker-proxy and /v1/ports ($(echo "$ports" | grep -E " $port " | tr -s ' '))"
    docker rm -f "$name" >/dev/null
    wait_until 20 sh -c "! '$ROOTLESSCTL' --socket '$state/api.sock' list-ports | grep -q ' $port '" ||
      fail "$run: port $port still in /v1/ports after docker rm"
    wait_until 20 sh -c "! curl -fsS -m 1 -o /dev/null http://127.0.0.1:$port/" || fail "$run: 127.0.0.1:$port still answers after docker rm"
    say "ok: docker rm: port $port withdrawn"
  done

  mapfile -t tree < <(pids_of_tree "$rk")
  say "stopping: SIGTERM to rootlesskit ($rk; ${#tree[@]} processes in its tree)"
  kill -TERM "$rk"
  wait_exit 60 "$rk"
  [ "$EXIT_CODE" = 0 ] || fail "$run: rootlesskit exited $EXIT_CODE after SIGTERM: $(tail -5 "$log")"
  wait_until 20 none_alive "${tree[@]}" ||
    fail "$run: still running: $(for p in "${tree[@]}"; do alive "$p" && ps -o pid=,args= -p "$p"; done)"
  left="$(pgrep -u "$(id -u)" -af "$RK_TMP" | grep -v "^$$ " || true)"
  [ -z "$left" ] || fail "$run: processes still refer to $RK_TMP: $left"
  ! grep -q " $RK_TMP" /proc/mounts || fail "$run: mounts left on the host: $(grep " $RK_TMP" /proc/mounts)"
  [ ! -e "$state" ] || fail "$run: state dir $state left behind: $(ls -A "$state")"
  say "ok: stopped: exit 0, no process, no mount, no state dir left"
done
say "PASS"
