# Sourced by the hack/ scripts that run our commands as an unprivileged user
# (hack/test.sh, hack/benchmark-*.sh): re-running as that user, free ports.

# as_test_user ARGS...: as root, re-runs the calling script ($0 with ARGS) as
# RK_TEST_USER (default rktest) in a clean environment: PATH with the repo's
# node_modules/.bin first, HOME, and each variable named in RK_PASS_ENV (the
# script's settings; an unset one is passed empty). As anyone else, returns.
as_test_user() {
  [ "$(id -u)" = 0 ] || return 0
  local user="${RK_TEST_USER:-rktest}" root v pass=()
  root="$(cd "$(dirname "$0")/.." && pwd)"
  for v in ${RK_PASS_ENV:-}; do pass+=("$v=${!v-}"); done
  exec setpriv --reuid="$user" --regid="$user" --init-groups --reset-env -- \
    env PATH="$root/node_modules/.bin:/usr/sbin:/usr/bin:/sbin:/bin" HOME="/home/$user" \
    "${pass[@]}" bash "$0" "$@"
}

# free_port: a TCP/UDP port no socket uses now, below the kernel's ephemeral
# range (so no client connection can take it before we listen).
free_port() {
  local p lo _
  read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
  for _ in $(seq 1 100); do
    p=$((lo - 12000 + RANDOM % 12000))
    if ! ss -Htaun "sport = :$p" | grep -q .; then
      echo "$p"
      return 0
    fi
  done
  echo "no free port found below $lo" >&2
  return 1
}
