#!/usr/bin/env bash
# rk-portfwd host to host (the socat replacement) beside socat and raw
# loopback: iperf3 TCP through each, in one run, printed as one table with
# ratios. Loopback is the ceiling (a relay pays for a second TCP connection);
# the target is rk-portfwd >= 2.5x socat. Rows TCP->UNIX and UNIX->TCP: the
# same line through socat and through rk-portfwd (socat's syntax), the UNIX
# side reached through a bridge that is the same for both (rk-portfwd, in
# front of or behind iperf3's TCP server); target >= 3x socat.
#
#   hack/benchmark-portfwd.sh            # 3 rounds of 10 s each, median per path
#   ROUNDS=5 SECONDS_PER_RUN=5 hack/benchmark-portfwd.sh
#
# Runs as the invoking user (as root: as RK_TEST_USER, default rktest). Only
# loopback traffic. Needs iperf3, socat, python3 (hack/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
. hack/script-lib.sh
RK_PASS_ENV="ROUNDS SECONDS_PER_RUN" as_test_user "$@"
export PATH="$root/node_modules/.bin:$PATH"
rounds="${ROUNDS:-3}"
secs="${SECONDS_PER_RUN:-10}"
for tool in iperf3 socat python3 rk-portfwd; do
  command -v "$tool" >/dev/null || { echo "benchmark-portfwd: $tool not found: run hack/setup.sh" >&2; exit 1; }
done

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# Free ports, chosen by the kernel.
server="$(free_port)"; socatp="$(free_port)"; oursp="$(free_port)"

sockdir="$(mktemp -d "${TMPDIR:-/tmp}/rk-bench-portfwd.XXXXXX")"
trap 'cleanup; rm -rf "$sockdir"' EXIT
s_t2u="$(free_port)"; o_t2u="$(free_port)"; s_u2t="$(free_port)"; o_u2t="$(free_port)"

iperf3 -s -p "$server" >/dev/null 2>&1 & pids+=($!)
socat "TCP-LISTEN:$socatp,bind=127.0.0.1,reuseaddr,fork" "TCP:127.0.0.1:$server" 2>/dev/null & pids+=($!)
rk-portfwd -p "127.0.0.1:$oursp:127.0.0.1:$server/tcp" & pids+=($!)
# TCP->UNIX: client -> (tool) -> socket file -> (bridge) -> iperf3
rk-portfwd "UNIX-LISTEN:$sockdir/server.sock,fork" "TCP:127.0.0.1:$server" & pids+=($!)
# UNIX->TCP: client -> (bridge) -> socket file -> (tool) -> iperf3
rk-portfwd "TCP-LISTEN:$s_u2t,bind=127.0.0.1,fork" "UNIX-CONNECT:$sockdir/socat-front.sock" & pids+=($!)
rk-portfwd "TCP-LISTEN:$o_u2t,bind=127.0.0.1,fork" "UNIX-CONNECT:$sockdir/ours-front.sock" & pids+=($!)
for _ in $(seq 1 200); do [ -S "$sockdir/server.sock" ] && break; sleep 0.02; done
socat "TCP-LISTEN:$s_t2u,bind=127.0.0.1,reuseaddr,fork" "UNIX-CONNECT:$sockdir/server.sock" 2>/dev/null & pids+=($!)
rk-portfwd "TCP-LISTEN:$o_t2u,bind=127.0.0.1,reuseaddr,fork" "UNIX-CONNECT:$sockdir/server.sock" & pids+=($!)
socat "UNIX-LISTEN:$sockdir/socat-front.sock,fork" "TCP:127.0.0.1:$server" 2>/dev/null & pids+=($!)
rk-portfwd "UNIX-LISTEN:$sockdir/ours-front.sock,fork" "TCP:127.0.0.1:$server" & pids+=($!)
for p in "$server" "$socatp" "$oursp" "$s_t2u" "$o_t2u" "$s_u2t" "$o_u2t"; do
  for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.02; done
done

gbps() { # port -> Gbit/s received, or "err"
  iperf3 -c 127.0.0.1 -p "$1" -t "$secs" -J 2>/dev/null | python3 -c '
import json, sys
try:
    print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))
except Exception:
    print("err")'
}

declare -A runs
for r in $(seq 1 "$rounds"); do
  # interleaved, so that a noisy moment hits every path alike
  for path in loopback socat rk-portfwd socat-t2u rk-t2u socat-u2t rk-u2t; do
    case "$path" in
      loopback) port=$server ;; socat) port=$socatp ;; rk-portfwd) port=$oursp ;;
      socat-t2u) port=$s_t2u ;; rk-t2u) port=$o_t2u ;; socat-u2t) port=$s_u2t ;; rk-u2t) port=$o_u2t ;;
    esac
    runs[$path]+="$(gbps "$port") "
  done
done

python3 - "$rounds" "$secs" "${runs[loopback]}" "${runs[socat]}" "${runs[rk-portfwd]}" "${runs[socat-t2u]}" "${runs[rk-t2u]}" "${runs[socat-u2t]}" "${runs[rk-u2t]}" <<'EOF'
import statistics, sys
names = ["loopback (no relay)", "socat", "rk-portfwd", "socat TCP->UNIX", "rk-portfwd TCP->UNIX", "socat UNIX->TCP", "rk-portfwd UNIX->TCP"]
vals = [[float(x) for x in a.split() if x != "err"] for a in sys.argv[3:10]]
med = [statistics.median(v) if v else float("nan") for v in vals]
ref = [1, 1, 1, 3, 3, 5, 5]  # the socat row each is compared with
print(f"iperf3 TCP host->host, {sys.argv[1]} rounds x {sys.argv[2]} s, median (all runs; UNIX rows: the UNIX side through the same rk-portfwd bridge):")
print(f"| {'path':<22} | {'Gbit/s':>7} | {'x socat':>7} | {'of loopback':>11} | runs")
print(f"|{'-'*24}|{'-'*9}|{'-'*9}|{'-'*13}|------")
for n, m, v, r in zip(names, med, vals, ref):
    print(f"| {n:<22} | {m:7.2f} | {m/med[r]:7.2f} | {m/med[0]*100:10.0f}% | {' '.join(f'{x:.1f}' for x in v)}")
EOF
