#!/usr/bin/env bash
# One-command set-up on a fresh Debian 12 machine (run as root, or it uses sudo):
# installs the Debian packages the project uses at run, test and benchmark time,
# then `npm ci` (which builds the native addon from source) and builds every
# package. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

PACKAGES=(
  uidmap          # newuidmap/newgidmap (setuid), getsubids
  slirp4netns passt libslirp-dev
  vde2 libvdeplug-slirp  # --net=vdeplug_slirp: vde_plug and its slirp:// plug
  lxc dnsmasq-base       # --net=lxc-user-nic (setuid lxc-user-nic); dnsmasq: its test's DHCP server
  iproute2 socat iperf3 hyperfine
  rootlesskit     # Debian's Go rootlesskit: the reference we compare against
  util-linux procps psmisc curl iputils-ping
  python3 make g++
  # hack/integration-*.sh: rootless Docker (Debian's dockerd-rootless.sh;
  # rootlesskit-docker-proxy comes with the rootlesskit package above),
  # busybox (httpd, the offline test image; also upstream's integration-port.sh
  # in test/src/upstream-port.test.ts), systemd-socket-activate and uuidd
  docker.io iptables busybox systemd uuid-runtime
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "[setup] installing: ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # Installing starts no service (no system dockerd, uuidd, lxc-net...): the
  # tests start what they need as the unprivileged user, and a root dockerd
  # would change the host's firewall and bridges under them. policy-rc.d
  # tells invoke-rc.d so for the install only, unless the machine has one.
  guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    guard=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\n# hack/setup.sh: no service starts while it installs packages\nexit 101\n' | $SUDO tee "$guard" >/dev/null
    $SUDO chmod 0755 "$guard"
  fi
  rc=0
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
  if [ -n "$guard" ]; then $SUDO rm -f "$guard"; fi
  [ "$rc" = 0 ] || exit "$rc"
fi

# node-gyp builds libs/native against Node's headers. By default it downloads
# them, which fails on a machine that reaches only the package registries:
# use the headers the distribution ships (Debian's nodejs: /usr/include/node)
# when they are those of the node that runs, unless nodedir is set already.
node_version="$(node -p process.versions.node)"
current="${npm_config_nodedir:-$(npm config get nodedir 2>/dev/null || true)}"
if [ -z "$current" ] || [ "$current" = undefined ] || [ "$current" = null ]; then
  for dir in /usr /usr/local; do
    h="$dir/include/node/node_version.h"
    [ -f "$h" ] && [ -f "$dir/include/node/common.gypi" ] || continue
    v="$(awk '/define NODE_(MAJOR|MINOR|PATCH)_VERSION /{printf "%s%s", sep, $3; sep="."}' "$h")"
    if [ "$v" = "$node_version" ]; then
      export npm_config_nodedir="$dir"
      echo "[setup] building the addon against $dir/include/node (node $node_version)"
      break
    fi
  done
  if [ -z "${npm_config_nodedir:-}" ]; then
    echo "[setup] no local headers for node $node_version: node-gyp will download them (or set npm_config_nodedir to a dir with include/node of this node version)"
  fi
fi

echo "[setup] npm ci (builds libs/native from source)"
npm ci --no-audit --no-fund
echo "[setup] building every package"
NX_DAEMON=false NX_NO_CLOUD=true npx nx run-many -t build --outputStyle=static --skip-nx-cache
echo "[setup] done: commands are in $(pwd)/node_modules/.bin"
