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
  util-linux procps psmisc curl
  python3 make g++
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "[setup] installing: ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "[setup] npm ci (builds libs/native from source)"
npm ci --no-audit --no-fund
echo "[setup] building every package"
NX_DAEMON=false NX_NO_CLOUD=true npx nx run-many -t build --outputStyle=static --skip-nx-cache
echo "[setup] done: commands are in $(pwd)/node_modules/.bin"
