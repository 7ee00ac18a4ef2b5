#!/usr/bin/env bash
# Egress throughput of each network driver, from one run: iperf3 from inside
# the namespace (client) to `iperf3 -s` on the host's 127.0.0.1, reached
# through the driver's gateway, at MTU 1500 and 65520. Ours (rootlesskit
# --net=DRIVER) beside upstream's rootlesskit with slirp4netns and beside
# pasta, with each run's memory (RSS of rootlesskit and every helper process
# it started, summed, sampled mid-run). Prints one table; ratios are against
# upstream rootlesskit + slirp4netns at the same MTU. Every driver runs once per
# round, rounds interleaved (a noisy moment hits all alike); the table shows
# each driver's median, the runs follow it.
# Run as a user with subuid/subgid entries; as root it re-runs as RK_TEST_USER.
# DURATION (seconds per run, default 10), ROUNDS (default 3), DRIVERS (default:
# every driver here).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
. hack/script-lib.sh
RK_PASS_ENV="DURATION ROUNDS DRIVERS OUT" as_test_user "$@"
export PATH="$root/node_modules/.bin:$PATH"
duration="${DURATION:-10}"
rounds="${ROUNDS:-3}"
drivers="${DRIVERS:-slirp4netns builtin pasta}"
work="$(mktemp -d /tmp/rk-bench-net.XXXXXX)"
port="$(free_port)"
iperf3 -s -B 127.0.0.1 -p "$port" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
sleep 0.3

# Sum of the RSS (kB) of process $1 and all its descendants.
tree_rss() {
  ps -e -o pid=,ppid=,rss= | awk -v root="$1" '
    { ppid[$1] = $2; rss[$1] = $3 }
    END { for (p in ppid) { q = p; while (q != "" && q != 0 && q != root) q = ppid[q]; if (q == root) s += rss[p] } print s + 0 }'
}

# run NAME MTU CMD...: runs CMD (which runs iperf3 inside), prints "gbps mem_mb".
run() {
  local name="$1" mtu="$2"
  shift 2
  "$@" >"$work/out.json" 2>"$work/err" &
  local pid=$! mem=0 i
  for i in $(seq 1 $((duration * 5 / 2))); do sleep 0.2; done
  mem="$(tree_rss "$pid")"
  wait "$pid" || { echo "  $name (mtu $mtu) failed: $(tail -3 "$work/err")" >&2; echo "- -"; return; }
  python3 - "$work/out.json" "$mem" <<'PY'
import json, sys
t = open(sys.argv[1]).read()
d = json.loads(t[t.index("{"):])
if "error" in d: sys.exit("iperf3: " + d["error"])
print(f"{d['end']['sum_sent']['bits_per_second'] / 1e9:.2f} {int(sys.argv[2]) / 1024:.1f}")
PY
}

client="iperf3 -c GW -p $port -t $duration -J"
declare -A result
for round in $(seq 1 "$rounds"); do
  for mtu in 1500 65520; do
    result[upstream,$mtu]+="$(run upstream "$mtu" /usr/bin/rootlesskit --net=slirp4netns --mtu="$mtu" sh -c "${client/GW/10.0.2.2}");"
    for d in $drivers; do
      case "$d" in
        pasta)
          # pasta alone (Debian passt): its own namespace; the host's gateway address maps to the host.
          gw="$(ip route show default | awk '{print $3; exit}')"
          result[pasta,$mtu]+="$(run pasta "$mtu" pasta --config-net --mtu "$mtu" -q -- sh -c "${client/GW/$gw}");" ;;
        *)
          result[$d,$mtu]+="$(run "$d" "$mtu" rootlesskit --net="$d" --mtu="$mtu" sh -c "${client/GW/10.0.2.2}");" ;;
      esac
    done
  done
done

# "g m;g m;..." -> "median_gbps median_mb" ("-" when no run succeeded)
median() {
  python3 - "$1" <<'PY'
import sys
runs = [r.split() for r in sys.argv[1].split(";") if r.strip()]
def med(xs, fmt):
    xs = sorted(float(x) for x in xs if x != "-")
    return fmt % xs[len(xs) // 2] if xs else "-"
print(med([r[0] for r in runs], "%.2f"), med([r[1] for r in runs], "%.1f"))
PY
}
runs_of() { echo "$1" | tr ';' '\n' | awk 'NF { printf "%s%s", sep, $1; sep = " " }'; }
{
  printf '%-34s %12s %8s %12s %8s %10s\n' "driver" "Gbps@1500" "ratio" "Gbps@65520" "ratio" "MB(65520)"
  for k in upstream $drivers; do
    case "$k" in
      upstream) label="upstream rootlesskit + slirp4netns" ;;
      pasta) label="pasta (Debian passt, alone)" ;;
      *) label="ours --net=$k" ;;
    esac
    read -r g1 m1 <<<"$(median "${result[$k,1500]}")"
    read -r g2 m2 <<<"$(median "${result[$k,65520]}")"
    read -r u1 _ <<<"$(median "${result[upstream,1500]}")"
    read -r u2 _ <<<"$(median "${result[upstream,65520]}")"
    r1="$(python3 -c "print(f'{$g1/$u1:.2f}')" 2>/dev/null || echo -)"
    r2="$(python3 -c "print(f'{$g2/$u2:.2f}')" 2>/dev/null || echo -)"
    printf '%-34s %12s %8s %12s %8s %10s\n' "$label" "$g1" "$r1" "$g2" "$r2" "$m2"
  done
  echo
  echo "Medians of $rounds interleaved rounds of ${duration} s. Runs (Gbps@1500 | Gbps@65520):"
  for k in upstream $drivers; do
    printf '  %-12s %s | %s\n' "$k" "$(runs_of "${result[$k,1500]}")" "$(runs_of "${result[$k,65520]}")"
  done
} | tee "${OUT:-/dev/null}"
