# Sourced (after integration-lib.sh, as root, after `begin --as-root`) by
# hack/integration-swarm.sh and hack/benchmark-swarm.sh: two "hosts" for a
# rootless Docker Swarm, each a network namespace this script makes
# (192.0.2.11 and 192.0.2.12 on a veth pair, nothing else: no route off the
# machine, no real resolver), each with its own unprivileged user (subordinate
# IDs in /etc/subuid and /etc/subgid) running Debian's dockerd-rootless.sh
# inside that namespace, on the rootlesskit under test ($ROOTLESSKIT first on
# PATH), with the swarm's ports published by the builtin port driver.
#
#   swarm_setup                 checks tools and users, makes the hosts, arms the clean-up
#   swarm_image_tar EXTRA...    $RK_TMP/image.tar: busybox (+ the binaries EXTRA and their libraries)
#   swarm_start NET             both daemons on --net=NET (and --mtu=$SWARM_MTU when set), each with the image imported as $SWARM_IMAGE
#   swarm_form                  swarm init on host A, join from host B; both nodes Ready
#   sdocker I ARGS...           the docker CLI against host I's daemon (0 = A, 1 = B); T=SECONDS bounds it (120)
#   swarm_stop                  swarm leave, SIGTERM to each rootlesskit (then SIGKILL), data removed
# Everything is also stopped and removed at exit (RK_CLEANUP_HOOKS).

SWARM_DOCKERD_ROOTLESS="${DOCKERD_ROOTLESS:-/usr/share/docker.io/contrib/dockerd-rootless.sh}"
# Debian's docker CLI (20.10, as the daemon): /usr/local/bin/docker may be another.
SWARM_DOCKER="${DOCKER:-/usr/bin/docker}"
SWARM_USERS=("$RK_TEST_USER" "${RK_TEST_USER_B:-rktest-b}")
SWARM_IPS=(192.0.2.11 192.0.2.12)
SWARM_NAMES=(swarm-a swarm-b)
SWARM_NS=("rk-swarm-a-$$" "rk-swarm-b-$$")
SWARM_IMAGE=rk-busybox:swarm
SWARM_IMAGE_ID=""      # its ID (the same on both hosts), for services
# What each daemon publishes on its host: swarm management (2377/tcp), gossip
# (7946/tcp+udp), VXLAN data (4789/udp). /var/lib copied up: Docker 20.10
# makes /var/lib/docker/network/files for the overlay's load-balancer sandbox
# whatever --data-root says (see docs/swarm.md).
SWARM_RK_FLAGS="-p 0.0.0.0:2377:2377/tcp -p 0.0.0.0:7946:7946/tcp -p 0.0.0.0:7946:7946/udp -p 0.0.0.0:4789:4789/udp ${RK_SWARM_COPY_UP---copy-up=/var/lib}"
SWARM_RK=("" "")     # rootlesskit PIDs (dockerd-rootless.sh execs it)
SWARM_TREE=("" "")   # their process trees, as last seen
SWARM_USERNS=("" "") # their child's user namespace (dockerd, containerd, shims, containers: all in it)
SWARM_NET=""

sdocker() {
  local i=$1
  shift
  DOCKER_HOST="unix://$RK_TMP/${SWARM_NAMES[$i]}/xdg/docker.sock" DOCKER_CONFIG="$RK_TMP/docker-config" \
    timeout -s KILL "${T:-120}" "$SWARM_DOCKER" "$@" # `docker run` passes SIGTERM on to the container
}
swarm_log() { echo "$RK_TMP/dockerd-${SWARM_NAMES[$1]}-$SWARM_NET.log"; }

swarm_setup() {
  [ "$(id -u)" = 0 ] || { say "SKIP: needs root (it makes the two hosts' network namespaces and runs each daemon as its own user)"; exit 77; }
  [ -x "$SWARM_DOCKERD_ROOTLESS" ] || fail "no $SWARM_DOCKERD_ROOTLESS: apt-get install docker.io"
  [ -x "$SWARM_DOCKER" ] || fail "no $SWARM_DOCKER: apt-get install docker.io"
  local tool u
  for tool in dockerd:docker.io containerd:containerd busybox:busybox slirp4netns:slirp4netns nsenter:util-linux ip:iproute2 setpriv:util-linux newuidmap:uidmap; do
    command -v "${tool%%:*}" >/dev/null || fail "${tool%%:*} is missing: apt-get install ${tool#*:}"
  done
  for u in "${SWARM_USERS[@]}"; do
    id "$u" >/dev/null 2>&1 && grep -q "^$u:" /etc/subuid && grep -q "^$u:" /etc/subgid ||
      fail "user $u with /etc/subuid and /etc/subgid entries is missing: run hack/test-user.sh as root"
  done
  chmod 0711 "$RK_TMP"
  mkdir -m 0700 "$RK_TMP/docker-config"
  # `rootlesskit` on PATH is the one under test.
  mkdir -m 0755 "$RK_TMP/bin"
  ln -s "$ROOTLESSKIT" "$RK_TMP/bin/rootlesskit"
  RK_CLEANUP_HOOKS+=(swarm_cleanup)

  # The hosts: a veth pair between two namespaces of ours; lo up. Each host's
  # resolv.conf names the host itself, where nothing answers: no name ever
  # leaves for a real resolver.
  local i
  for i in 0 1; do
    ip netns add "${SWARM_NS[$i]}"
    echo "nameserver ${SWARM_IPS[$i]}" >"$RK_TMP/resolv-${SWARM_NAMES[$i]}.conf"
    chmod 0644 "$RK_TMP/resolv-${SWARM_NAMES[$i]}.conf"
  done
  ip link add rkswa0 netns "${SWARM_NS[0]}" type veth peer name rkswb0 netns "${SWARM_NS[1]}"
  for i in 0 1; do
    local dev=rkswa0
    [ "$i" = 1 ] && dev=rkswb0
    ip -n "${SWARM_NS[$i]}" link set lo up
    ip -n "${SWARM_NS[$i]}" addr add "${SWARM_IPS[$i]}/24" dev "$dev"
    ip -n "${SWARM_NS[$i]}" link set "$dev" up
  done
  ip -n "${SWARM_NS[0]}" link add rkswprobe type vxlan id 42 dstport 4789 2>/dev/null ||
    { say "SKIP: this kernel cannot make a VXLAN device (Docker's overlay needs one): modprobe vxlan"; exit 77; }
  ip -n "${SWARM_NS[0]}" link del rkswprobe
  wait_until 10 nsenter --net="/run/netns/${SWARM_NS[0]}" ping -c 1 -W 1 "${SWARM_IPS[1]}" || fail "host A does not reach host B over the veth"
  say "hosts: ${SWARM_NAMES[0]} ${SWARM_IPS[0]} (netns ${SWARM_NS[0]}, user ${SWARM_USERS[0]}), ${SWARM_NAMES[1]} ${SWARM_IPS[1]} (netns ${SWARM_NS[1]}, user ${SWARM_USERS[1]})"
}

# `swarm_image_tar [BINARY...]`: the image's root as a tar: busybox with the
# applets the scripts use, a page to serve, plus each BINARY (e.g.
# /usr/bin/iperf3); all with the libraries they link (ldd).
swarm_image_tar() {
  local root="$RK_TMP/rootfs" bin lib applet
  rm -rf "$root"
  mkdir -p "$root/bin" "$root/www" "$root/tmp"
  for bin in "$(command -v busybox)" "$@"; do
    cp "$bin" "$root/bin/"
    for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done
  done
  for applet in sh cat date echo hostname httpd wget nslookup sleep ip ping timeout; do ln -s busybox "$root/bin/$applet"; done
  echo "hello from host A" >"$root/www/index.html"
  tar --owner=0 --group=0 -C "$root" -cf "$RK_TMP/image.tar" .
}

# `swarm_start NET`: host I's dockerd-rootless.sh, as its user, in its
# namespace, with its own hostname (a UTS namespace: the two nodes differ),
# its XDG_RUNTIME_DIR, HOME and data root in RK_TMP/NAME (mode 0700, owned by
# the user), on --net=NET --port-driver=builtin (--mtu=SWARM_MTU when set;
# otherwise dockerd-rootless.sh's 1500, its default for a named --net;
# SWARM_UDP_FAST=0: the builtin NAT engine without its UDP fast path;
# SWARM_TUNNEL_GSO=0: its tap without UDP tunnel GSO).
swarm_start() {
  SWARM_NET=$1
  local i dir u log
  for i in 0 1; do
    u=${SWARM_USERS[$i]} dir="$RK_TMP/${SWARM_NAMES[$i]}" log="$(swarm_log "$i")"
    install -d -m 0700 -o "$u" -g "$(id -gn "$u")" "$dir"
    setpriv --reuid="$u" --regid="$u" --init-groups -- mkdir -m 0700 "$dir/xdg" "$dir/home" "$dir/data"
    # nsenter, not `ip netns exec`: that one remounts /sys, which hides the
    # cgroup mounts runc needs. A mount namespace of its own for the host's
    # resolv.conf, a UTS namespace for its hostname.
    nsenter --net="/run/netns/${SWARM_NS[$i]}" unshare --mount --uts -- \
      sh -c 'mount --bind "$1" /etc/resolv.conf && hostname "$0" && shift && exec "$@"' "${SWARM_NAMES[$i]}" "$RK_TMP/resolv-${SWARM_NAMES[$i]}.conf" \
      setpriv --reuid="$u" --regid="$u" --init-groups --reset-env -- \
      env PATH="$RK_TMP/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
      HOME="$dir/home" USER="$u" LOGNAME="$u" LANG=C.UTF-8 XDG_RUNTIME_DIR="$dir/xdg" \
      DOCKERD_ROOTLESS_ROOTLESSKIT_NET="$SWARM_NET" DOCKERD_ROOTLESS_ROOTLESSKIT_MTU="${SWARM_MTU:-}" DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER=builtin \
      DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS="$SWARM_RK_FLAGS" RK_NAT_UDP_FAST="${SWARM_UDP_FAST:-}" RK_NAT_TUNNEL_GSO="${SWARM_TUNNEL_GSO:-}" \
      "$SWARM_DOCKERD_ROOTLESS" --data-root "$dir/data" -H "unix://$dir/xdg/docker.sock" >"$log" 2>&1 &
    SWARM_RK[$i]=$!
  done
  for i in 0 1; do
    wait_until 90 sdocker "$i" version ||
      fail "$SWARM_NET: the daemon on ${SWARM_NAMES[$i]} did not come up: $(tail -20 "$(swarm_log "$i")")"
    SWARM_TREE[$i]="$(pids_of_tree "${SWARM_RK[$i]}" | paste -sd ' ')"
    local p rk_ns
    rk_ns="$(readlink "/proc/${SWARM_RK[$i]}/ns/user")"
    for p in ${SWARM_TREE[$i]}; do
      SWARM_USERNS[$i]="$(readlink "/proc/$p/ns/user" 2>/dev/null)" || continue
      [ "${SWARM_USERNS[$i]}" = "$rk_ns" ] || break
    done
    sdocker "$i" info --format '{{json .SecurityOptions}}' | grep -q 'name=rootless' ||
      fail "$SWARM_NET: the daemon on ${SWARM_NAMES[$i]} is not rootless"
  done
  # Imported on A, saved and loaded on B: the same image ID on both, which a
  # service names (a service task given an image by ID is never pulled; by
  # name, each task first waits for a pull that cannot succeed here).
  sdocker 0 import "$RK_TMP/image.tar" "$SWARM_IMAGE" >/dev/null
  sdocker 0 save "$SWARM_IMAGE" | sdocker 1 load >/dev/null
  SWARM_IMAGE_ID="$(sdocker 0 image inspect -f '{{.Id}}' "$SWARM_IMAGE")"
  [ "$(sdocker 1 image inspect -f '{{.Id}}' "$SWARM_IMAGE")" = "$SWARM_IMAGE_ID" ] || fail "$SWARM_NET: the image differs between the hosts"
  say "up: rootless dockerd on ${SWARM_NAMES[0]} (rootlesskit ${SWARM_RK[0]}) and ${SWARM_NAMES[1]} (rootlesskit ${SWARM_RK[1]}), --net=$SWARM_NET --port-driver=builtin, image $SWARM_IMAGE on both"
}

# `swarm_form`: init on A (advertising A's address), join B with the worker token.
swarm_form() {
  local out token
  out="$(sdocker 0 swarm init --advertise-addr "${SWARM_IPS[0]}" 2>&1)" || fail "$SWARM_NET: swarm init on ${SWARM_NAMES[0]}: $out"
  token="$(sdocker 0 swarm join-token -q worker)"
  out="$(sdocker 1 swarm join --advertise-addr "${SWARM_IPS[1]}" --token "$token" "${SWARM_IPS[0]}:2377" 2>&1)" ||
    fail "$SWARM_NET: swarm join from ${SWARM_NAMES[1]} to ${SWARM_IPS[0]}:2377: $out $(tail -5 "$(swarm_log 1)")"
  wait_until 30 sh -c "[ \"\$(DOCKER_HOST=unix://$RK_TMP/${SWARM_NAMES[0]}/xdg/docker.sock '$SWARM_DOCKER' node ls --format '{{.Status}}' | grep -c Ready)\" = 2 ]" ||
    fail "$SWARM_NET: the two nodes are not both Ready: $(sdocker 0 node ls 2>&1)"
  say "ok: swarm: $(sdocker 0 node ls --format '{{.Hostname}} {{.Status}} {{.ManagerStatus}}' | paste -sd ',' | sed 's/,/, /g')"
}

# `swarm_stop`: leave the swarm, SIGTERM to each rootlesskit (SIGKILL to its
# tree after 30 s), then kill what is left in the hosts' namespaces (only
# ours live there) and remove the daemons' files (root removes them; they
# belong to the users' subordinate IDs). Checks nothing is left.
swarm_stop() {
  local i p left=""
  for i in 0 1; do
    [ -n "${SWARM_RK[$i]}" ] && alive "${SWARM_RK[$i]}" || continue
    timeout 20 "$SWARM_DOCKER" -H "unix://$RK_TMP/${SWARM_NAMES[$i]}/xdg/docker.sock" swarm leave --force >/dev/null 2>&1 || true
  done
  for i in 0 1; do
    [ -n "${SWARM_RK[$i]}" ] || continue
    SWARM_TREE[$i]="$(pids_of_tree "${SWARM_RK[$i]}" | paste -sd ' ') ${SWARM_TREE[$i]}"
    kill -TERM "${SWARM_RK[$i]}" 2>/dev/null || true
  done
  for i in 0 1; do
    [ -n "${SWARM_RK[$i]}" ] || continue
    # shellcheck disable=SC2086
    if ! wait_until 30 none_alive ${SWARM_TREE[$i]}; then
      say "${SWARM_NAMES[$i]}: still running 30 s after SIGTERM: SIGKILL"
      for p in ${SWARM_TREE[$i]}; do kill -KILL "$p" 2>/dev/null || true; done
    fi
    wait "${SWARM_RK[$i]}" 2>/dev/null || true
    # Only ours live in the host's namespace and in the daemon's user
    # namespace (containerd's shims leave the daemon's tree: they are
    # reparented to PID 1).
    for p in $(ip netns pids "${SWARM_NS[$i]}" 2>/dev/null) $(swarm_userns_pids "${SWARM_USERNS[$i]}"); do
      left+=" $(ps -o pid=,user=,args= -p "$p" | cut -c1-100)"
      kill -KILL "$p" 2>/dev/null || true
    done
    SWARM_RK[$i]=""
    SWARM_USERNS[$i]=""
    SWARM_TREE[$i]=""
  done
  for i in 0 1; do
    grep -q " $RK_TMP/${SWARM_NAMES[$i]}" /proc/mounts && left+=" mounts: $(grep " $RK_TMP/${SWARM_NAMES[$i]}" /proc/mounts | cut -d' ' -f2)"
    rm -rf --one-file-system "${RK_TMP:?}/${SWARM_NAMES[$i]}"
  done
  [ -z "$left" ] || { SWARM_LEFT="$left"; return 1; }
}

# `swarm_userns_pids NS`: the processes in user namespace NS (a readlink of /proc/PID/ns/user).
swarm_userns_pids() {
  [ -n "$1" ] || return 0
  local d
  for d in /proc/[0-9]*; do
    [ "$(readlink "$d/ns/user" 2>/dev/null)" = "$1" ] && echo "${d#/proc/}"
  done
  return 0
}

swarm_cleanup() {
  swarm_stop || say "clean-up: was still left: $SWARM_LEFT"
  # RK_SWARM_LOG_DIR=DIR keeps the daemons' logs.
  [ -z "${RK_SWARM_LOG_DIR:-}" ] || cp "$RK_TMP"/dockerd-*.log "$RK_SWARM_LOG_DIR/" 2>/dev/null || true
  local ns
  for ns in "${SWARM_NS[@]}"; do
    ip netns del "$ns" 2>/dev/null || true
  done
}
