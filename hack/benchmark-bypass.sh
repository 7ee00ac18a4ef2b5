#!/usr/bin/env bash
# Socket bypass: egress throughput and connect latency, from one run. As root
# it makes two network namespaces joined by a veth, a "host" (192.0.2.201,
# where everything below runs as RK_TEST_USER, default rktest) and a "remote"
# (192.0.2.202, running `iperf3 -s` and an accept-and-close server); the
# machine's own network is never touched. From the host namespace, to the
# remote, at MTU 1500 and 65520 (the veth's and the namespace's):
#   host        iperf3 run in the host namespace itself: the ceiling
#   bypass      rootlesskit --net=builtin --bypass iperf3 ...
#   builtin     rootlesskit --net=builtin iperf3 ...  (the namespace path)
#   upstream    Debian's /usr/bin/rootlesskit --net=slirp4netns iperf3 ...
# TCP Gbit/s (received), UDP Gbit/s (received; unlimited rate, datagrams of
# MTU - 28 bytes), and the mean time of one blocking connect()+close() over
# 10 000 in a row (hack/connect-loop.c, compiled here with cc), the total
# shown in ms. Ratios: throughput against the host's own figure, connect time
# against the namespace path (builtin). Every path runs once per round,
# rounds interleaved (a noisy moment hits all alike); the table shows
# medians, the runs follow it. Targets: bypass >= 0.9x host (TCP and UDP),
# connects within 2x of the namespace path.
# DURATION (seconds per iperf3 run, default 5), ROUNDS (default 3),
# CONNECTS (default 10000), OUT (a file that also gets the table).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
. hack/script-lib.sh
[ "$(id -u)" = 0 ] || { echo "benchmark-bypass.sh: run as root: it makes two network namespaces, then runs rootlesskit as ${RK_TEST_USER:-rktest}" >&2; exit 1; }
for tool in iperf3 cc python3 ip setpriv /usr/bin/rootlesskit slirp4netns; do
  command -v "$tool" >/dev/null || { echo "benchmark-bypass.sh: $tool not found: run hack/setup.sh" >&2; exit 1; }
done
user="${RK_TEST_USER:-rktest}"
duration="${DURATION:-5}"
rounds="${ROUNDS:-3}"
connects="${CONNECTS:-10000}"
tag=$$
hns="rkbbh$tag" rns="rkbbr$tag" veth="rkbbv$tag"
HOST4=192.0.2.201 REMOTE4=192.0.2.202
iport=5201 cport=5202
work="$(mktemp -d /tmp/rk-bench-bypass.XXXXXX)"
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$hns" 2>/dev/null || true
  ip netns del "$rns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cc -O2 -o "$work/connect-loop" hack/connect-loop.c
ip netns add "$hns"
ip netns add "$rns"
ip -n "$hns" link add "${veth}h" type veth peer name "${veth}r" netns "$rns"
ip -n "$hns" addr add "$HOST4/24" dev "${veth}h"
ip -n "$rns" addr add "$REMOTE4/24" dev "${veth}r"
for ns in "$hns" "$rns"; do ip -n "$ns" link set lo up; done
ip -n "$hns" link set "${veth}h" up
ip -n "$rns" link set "${veth}r" up
ip netns exec "$rns" iperf3 -s -B "$REMOTE4" -p "$iport" >/dev/null 2>&1 & pids+=($!)
ip netns exec "$rns" "$work/connect-loop" serve "$cport" >"$work/serve.out" & pids+=($!)
for _ in $(seq 1 100); do
  ip netns exec "$hns" bash -c "exec 3<>/dev/tcp/$REMOTE4/$iport && exec 4<>/dev/tcp/$REMOTE4/$cport" 2>/dev/null && break
  sleep 0.05
done

# as_user CMD...: CMD in the host namespace as the test user.
as_user() {
  ip netns exec "$hns" setpriv --reuid="$user" --regid="$user" --init-groups --reset-env -- \
    env PATH="$root/node_modules/.bin:/usr/sbin:/usr/bin:/sbin:/bin" HOME="/home/$user" RK_TEST_DNS_UPSTREAM=127.0.0.1:9 "$@"
}

# wrap PATH_NAME MTU: the command prefix that runs a client on that path.
wrap() {
  case "$1" in
    host) echo "" ;;
    bypass) echo "rootlesskit --net=builtin --mtu=$2 --bypass" ;;
    builtin) echo "rootlesskit --net=builtin --mtu=$2" ;;
    upstream) echo "/usr/bin/rootlesskit --net=slirp4netns --mtu=$2" ;;
  esac
}

# iperf PATH_NAME MTU tcp|udp: Gbit/s received, or "-".
iperf() {
  local extra=""
  [ "$3" = udp ] && extra="-u -b 0 -l $(($2 - 28))"
  # shellcheck disable=SC2046
  if ! as_user $(wrap "$1" "$2") iperf3 -c "$REMOTE4" -p "$iport" -t "$duration" $extra -J >"$work/out.json" 2>"$work/err"; then
    echo "  $1 $3 (mtu $2) failed: $(tail -c 300 "$work/out.json" "$work/err" | tr '\n' ' ')" >&2
    echo "-"
    return
  fi
  python3 - "$work/out.json" <<'PY'
import json, sys
t = open(sys.argv[1]).read()
d = json.loads(t[t.index("{"):])
if "error" in d: sys.exit("iperf3: " + d["error"])
print(f"{d['end']['sum_received']['bits_per_second'] / 1e9:.2f}")
PY
}

# connect_us PATH_NAME: mean microseconds per connect()+close(), or "-".
connect_us() {
  # shellcheck disable=SC2046
  as_user $(wrap "$1" 1500) "$work/connect-loop" connect "$REMOTE4" "$cport" "$connects" 2>"$work/err" | tail -1 | grep . ||
    { echo "  $1 connect loop failed: $(tail -c 300 "$work/err")" >&2; echo "-"; }
}

paths="host bypass builtin upstream"
declare -A result
for round in $(seq 1 "$rounds"); do
  for mtu in 1500 65520; do
    ip -n "$hns" link set "${veth}h" mtu "$mtu"
    ip -n "$rns" link set "${veth}r" mtu "$mtu"
    for p in $paths; do
      for proto in tcp udp; do result[$p,$proto,$mtu]+="$(iperf "$p" "$mtu" "$proto") "; done
    done
  done
  for p in $paths; do result[$p,connect]+="$(connect_us "$p") "; done
done

python3 - "$rounds" "$duration" "$connects" <<PY | tee "${OUT:-/dev/null}"
import statistics, sys
rounds, duration, connects = sys.argv[1:]
runs = {$(for k in "${!result[@]}"; do printf '"%s": "%s", ' "$k" "${result[$k]}"; done)}
def med(k):
    v = [float(x) for x in runs.get(k, "").split() if x != "-"]
    return statistics.median(v) if v else None
labels = {"host": "host (ceiling, no namespace)", "bypass": "ours --bypass (--net=builtin)",
          "builtin": "ours --net=builtin (no bypass)", "upstream": "upstream rootlesskit + slirp4netns"}
cols = [(proto, mtu) for mtu in (1500, 65520) for proto in ("tcp", "udp")]
head = ["path"]
for proto, mtu in cols: head += [f"{proto.upper()} Gbps@{mtu}", "x host"]
head += [f"{int(connects) // 1000}k connects ms", "x builtin"]
rows = []
fmt = lambda v, f: "-" if v is None else f % v
for p in "$paths".split():
    row = [labels[p]]
    for proto, mtu in cols:
        v, h = med(f"{p},{proto},{mtu}"), med(f"host,{proto},{mtu}")
        row += [fmt(v, "%.2f"), fmt(v / h if v is not None and h else None, "%.2f")]
    c, b = med(f"{p},connect"), med("builtin,connect")
    row += [fmt(c * int(connects) / 1000 if c is not None else None, "%.0f"), fmt(c / b if c is not None and b else None, "%.2f")]
    rows.append(row)
w = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
for r in [head] + rows:
    print("  ".join(c.ljust(w[0]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(r)))
print()
print(f"Medians of {rounds} interleaved rounds ({duration} s per iperf3 run; connect loop: {connects} blocking connect()+close() over TCP, a C client).")
print("Runs (TCP@1500 | UDP@1500 | TCP@65520 | UDP@65520 | connect us):")
for p in "$paths".split():
    print(f"  {p:9s}", " | ".join(runs.get(k, "").strip() for k in [f"{p},{pr},{m}" for pr, m in cols] + [f"{p},connect"]))
PY
