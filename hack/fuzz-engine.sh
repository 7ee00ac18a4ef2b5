#!/usr/bin/env bash
# Long fuzz runs against the builtin NAT engine (--net=builtin): rounds of
# mutated frames from test/fixtures/rawframe.py (seeds SEED, SEED+1, ...,
# COUNT frames each, v4 and v6, fragments included) sent on tap0 from inside
# the namespace, until DURATION seconds have passed; after each round a new
# outbound HTTP request to the "host" must work. Prints one line per round and
# a summary; exits 0 when rootlesskit and CMD lived to the end, 1 when either
# died or the engine stopped answering (the line names the round's seed:
# rerun it with --seed S --duration 1), 2 on bad arguments.
# Run as root: it makes a network namespace with only loopback and runs
# rootlesskit in it as USER (default $RK_TEST_USER or rktest), so that nothing
# the engine sends can leave this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
count=20000
seed=1
duration=300
user="${RK_TEST_USER:-rktest}"
extra=()
usage() {
  cat <<EOF
usage: hack/fuzz-engine.sh [--count N] [--seed S] [--duration SECONDS] [--user USER] [--no-fragments]
  --count N          mutated frames per round (default $count, at most 1000000)
  --seed S           first round's seed; round i uses S+i (default $seed)
  --duration SECONDS stop starting rounds after this long (default $duration)
  --user USER        who runs rootlesskit (default $user; needs /etc/subuid entries)
  --no-fragments     leave fragmented templates out (to look past a known fragment crash)
Exit: 0 rootlesskit and CMD survived, 1 one of them died or the engine stopped answering, 2 bad arguments.
EOF
}
while [ $# -gt 0 ]; do
  case "$1" in
    --count) count="${2-}"; shift 2 ;;
    --seed) seed="${2-}"; shift 2 ;;
    --duration) duration="${2-}"; shift 2 ;;
    --user) user="${2-}"; shift 2 ;;
    --no-fragments) extra+=(--no-fragments); shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "fuzz-engine.sh: unknown argument '$1': see hack/fuzz-engine.sh --help" >&2; exit 2 ;;
  esac
done
for v in count seed duration; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "fuzz-engine.sh: --$v must be a whole number, not '${!v}'" >&2; exit 2; }
done
[ "$count" -le 1000000 ] || { echo "fuzz-engine.sh: --count at most 1000000 per round (use --duration for longer runs)" >&2; exit 2; }
if [ "$(id -u)" != 0 ]; then
  echo "fuzz-engine.sh: run as root (sudo hack/fuzz-engine.sh ...): it makes a network namespace with only loopback for the engine and runs rootlesskit in it as $user" >&2
  exit 2
fi
id "$user" >/dev/null 2>&1 || { echo "fuzz-engine.sh: no user '$user': pass --user USER (one with /etc/subuid entries), or run hack/test-user.sh" >&2; exit 2; }

ns="rk-fuzz-$$"
port=18080
work="$(mktemp -d /tmp/rk-fuzz.XXXXXX)"
servers=
cleanup() {
  [ -n "$servers" ] && kill "$servers" 2>/dev/null
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
chown "$user" "$work"
ip netns add "$ns"
ip -n "$ns" link set lo up
ip netns exec "$ns" sysctl -qw net.ipv4.ping_group_range="0 2147483647"
ip netns exec "$ns" node test/fixtures/servers.mjs "$port" 127.0.0.1 ::1 >"$work/servers.log" 2>&1 &
servers=$!
for _ in $(seq 100); do grep -q ready "$work/servers.log" && break; sleep 0.05; done

# CMD, inside: rounds until the deadline; 3 = rawframe failed, 4 = no outbound after a round.
cmd='W=$1; seed=$2; end=$(( $(date +%s) + $3 )); shift 3
while [ "$(date +%s)" -lt "$end" ]; do
  echo "seed $seed: started" >> $W/rounds
  python3 '"$root"'/test/fixtures/rawframe.py fuzz --v6 --dport '"$port"' --seed "$seed" --count '"$count"' --seconds $(( end - $(date +%s) + 1 )) "$@" > $W/round.json 2>> $W/rawframe.err || exit 3
  code=$(curl -sS -m 2 -o /dev/null -w "%{http_code}" http://10.0.2.2:'"$port"'/after-seed-$seed 2>>$W/rawframe.err || true)
  echo "seed $seed: $(cat $W/round.json) outbound=$code" >> $W/rounds
  [ "$code" = 200 ] || exit 4
  seed=$((seed + 1))
done'
start=$(date +%s)
set +e
ip netns exec "$ns" setpriv --reuid="$user" --regid="$user" --init-groups --reset-env -- \
  env PATH="$root/node_modules/.bin:/usr/sbin:/usr/bin:/sbin:/bin" HOME="/home/$user" RK_TEST_DNS_UPSTREAM="127.0.0.1:$port" \
  rootlesskit --net=builtin --ipv6 --copy-up=/etc sh -c "$cmd" fuzz "$work" "$seed" "$duration" "${extra[@]}" 2>"$work/rootlesskit.err"
rc=$?
set -e
grep -v ': started$' "$work/rounds" 2>/dev/null || true
rounds=$(grep -c ': {' "$work/rounds" 2>/dev/null || true)
frames=$({ grep -o '"frames": [0-9]*' "$work/rounds" 2>/dev/null || true; } | awk '{ s += $2 } END { print s + 0 }')
last=$(tail -1 "$work/rounds" 2>/dev/null || true)
summary="fuzz-engine: ${rounds:-0} rounds, $frames frames, seeds from $seed, $(( $(date +%s) - start )) s"
case $rc in
  0) echo "$summary: rootlesskit and CMD survived, outbound traffic worked after every round"; exit 0 ;;
  3) echo "$summary: rawframe.py failed: $(tail -3 "$work/rawframe.err")" ;;
  4) echo "$summary: the engine stopped answering (no outbound HTTP) after: $last" ;;
  *)
    sig=""
    [ "$rc" -gt 128 ] && sig=" (signal $(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128))))"
    echo "$summary: rootlesskit exited $rc$sig during: ${last:-startup}; CMD died with it"
    grep -v 'Slirp-CRITICAL\|^$\|highly recommended' "$work/rootlesskit.err" | tail -3 >&2 || true
    ;;
esac
exit 1
