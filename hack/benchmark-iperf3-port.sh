#!/usr/bin/env bash
# Host -> child through the builtin port driver: our rootlesskit beside
# upstream's (Debian's /usr/bin/rootlesskit --net=slirp4netns
# --port-driver=builtin) and raw loopback, in one run, as one table:
#   TCP: iperf3 Gbit/s          (target: ours >= 1.3x upstream)
#   UDP: iperf3 -u -b 0, datagrams received per second, and how many arrived
#        out of order           (target: ours >= 1.5x upstream, none reordered)
#
#   hack/benchmark-iperf3-port.sh
#   ROUNDS=5 SECONDS_PER_RUN=5 UDP_LEN=64 OURS_NET=slirp4netns hack/benchmark-iperf3-port.sh
#
# Runs as the invoking user (as root: as RK_TEST_USER, default rktest). Only
# loopback traffic and the namespaces the two rootlesskits make.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
. hack/script-lib.sh
RK_PASS_ENV="ROUNDS SECONDS_PER_RUN UDP_LEN OURS_NET" as_test_user "$@"
export PATH="$root/node_modules/.bin:$PATH"
rounds="${ROUNDS:-3}"
secs="${SECONDS_PER_RUN:-10}"
udplen="${UDP_LEN:-1200}"
oursnet="${OURS_NET:-none}"
upstream=/usr/bin/rootlesskit
for tool in iperf3 python3 rootlesskit "$upstream" slirp4netns; do
  command -v "$tool" >/dev/null || { echo "benchmark-iperf3-port: $tool not found: run hack/setup.sh" >&2; exit 1; }
done

work="$(mktemp -d /tmp/rk-bench-port.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

loopp="$(free_port)"; oursp="$(free_port)"; theirsp="$(free_port)"

iperf3 -s -p "$loopp" >/dev/null 2>&1 & pids+=($!)
rootlesskit --state-dir "$work/ours" --net="$oursnet" --port-driver=builtin \
  -p "127.0.0.1:$oursp:5201/tcp" -p "127.0.0.1:$oursp:5201/udp" iperf3 -s >/dev/null 2>"$work/ours.err" & pids+=($!)
"$upstream" --state-dir "$work/theirs" --net=slirp4netns --port-driver=builtin \
  -p "127.0.0.1:$theirsp:5201/tcp" -p "127.0.0.1:$theirsp:5201/udp" iperf3 -s >/dev/null 2>"$work/theirs.err" & pids+=($!)

ready() { iperf3 -c 127.0.0.1 -p "$1" -t 1 -J >/dev/null 2>&1; }
for p in "$loopp" "$oursp" "$theirsp"; do
  for _ in $(seq 1 100); do ready "$p" && break; sleep 0.1; done
  ready "$p" || { echo "benchmark-iperf3-port: nothing answers on port $p:" >&2; cat "$work"/*.err >&2; exit 1; }
done

measure() { # port [iperf3 args] -> "Gbit/s" (TCP) or "pps lost% out_of_order" (UDP)
  iperf3 -c 127.0.0.1 -p "$@" -t "$secs" -J 2>/dev/null | python3 -c '
import json, sys
try:
    end = json.load(sys.stdin)["end"]
    s = end.get("sum", {})
    if "packets" in s:
        got = s["packets"] - s["lost_packets"]
        print("%.0f %.1f %d" % (got / s["seconds"], s["lost_percent"], s.get("out_of_order", 0)))
    else:
        print("%.2f" % (end["sum_received"]["bits_per_second"] / 1e9))
except Exception:
    print("err")'
}

declare -A tcp udp
for r in $(seq 1 "$rounds"); do
  for path in loopback ours upstream; do
    case "$path" in loopback) port=$loopp ;; ours) port=$oursp ;; upstream) port=$theirsp ;; esac
    tcp[$path]+="$(measure "$port") "
    udp[$path]+="$(measure "$port" -u -b 0 -l "$udplen" | tr ' ' ,) "
  done
done

python3 - "$rounds" "$secs" "$udplen" "$oursnet" "${tcp[loopback]}" "${tcp[ours]}" "${tcp[upstream]}" \
  "${udp[loopback]}" "${udp[ours]}" "${udp[upstream]}" <<'EOF'
import statistics, sys
rounds, secs, udplen, oursnet = sys.argv[1:5]
tcp = [[float(x) for x in a.split() if x != "err"] for a in sys.argv[5:8]]
udp = [[tuple(float(y) for y in x.split(",")) for x in a.split() if x != "err"] for a in sys.argv[8:11]]
names = ["loopback (no relay)", f"ours (--net={oursnet})", "upstream 1.1.0 (--net=slirp4netns)"]
med = lambda v: statistics.median(v) if v else float("nan")
t = [med(v) for v in tcp]
u = [med([x[0] for x in v]) for v in udp]
print(f"host -> child through --port-driver=builtin, {rounds} rounds x {secs} s, median:")
print(f"| {'path':<36} | {'TCP Gbit/s':>10} | {'x upstream':>10} | {'UDP pkt/s':>10} | {'x upstream':>10} | {'reordered':>9} | lost % |")
print(f"|{'-'*38}|{'-'*12}|{'-'*12}|{'-'*12}|{'-'*12}|{'-'*11}|--------|")
for i, n in enumerate(names):
    reord = sum(int(x[2]) for x in udp[i])
    lost = med([x[1] for x in udp[i]])
    print(f"| {n:<36} | {t[i]:10.2f} | {t[i]/t[2]:10.2f} | {u[i]:10.0f} | {u[i]/u[2]:10.2f} | {reord:9d} | {lost:6.1f} |")
print(f"UDP: iperf3 -u -b 0 -l {udplen} (datagrams received by the server per second); TCP runs: "
      + "; ".join(f"{n.split()[0]} {' '.join(f'{x:.1f}' for x in v)}" for n, v in zip(names, tcp)))
EOF
