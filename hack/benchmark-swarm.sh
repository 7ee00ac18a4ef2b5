#!/usr/bin/env bash
# Rootless Docker Swarm overlay traffic on our rootlesskit: iperf3 between a
# container on host A and a container on host B over an attachable overlay
# network, beside iperf3 between the two hosts directly (the ceiling) and
# between them over a kernel VXLAN of the overlay's MTU made straight on the
# hosts (what the encapsulation alone costs, without any rootlesskit). The
# hosts, users and daemons are hack/integration-swarm.sh's (hack/swarm-lib.sh:
# two network namespaces of ours, 192.0.2.11 and 192.0.2.12, Debian's
# dockerd-rootless.sh on our rootlesskit, 2377/7946/4789 published by the
# builtin port driver). For each network driver in NETS, one swarm, and in it
# ROUNDS interleaved rounds, each running every case once:
#   TCP: iperf3 Gbit/s                      (goal: overlay >= 0.5x direct)
#   UDP: iperf3 -u -b UDP_BW -l UDP_LEN, Gbit/s received and % lost
# plus the CPU time of the threads of both hosts' rootlesskit trees and
# containers during the overlay runs (what bounds the overlay).
#
#   hack/benchmark-swarm.sh                 (as root: it makes the hosts)
#   ROUNDS=1 SECONDS_PER_RUN=3 NETS=builtin hack/benchmark-swarm.sh
#
# Only traffic between the two namespaces it makes; everything stopped and
# removed at exit, Ctrl-C and failure included (integration-lib.sh's trap).
source "$(dirname "$0")/integration-lib.sh"
begin --as-root "$@"
source "$RK_REPO/hack/swarm-lib.sh"
# The table on stdout, progress on stderr.
exec 3>&1 1>&2

ROUNDS="${ROUNDS:-3}"
SECS="${SECONDS_PER_RUN:-10}"
NETS="${NETS:-builtin slirp4netns}"
UDP_BW="${UDP_BW:-10G}"
UDP_LEN="${UDP_LEN:-1380}" # below the overlay's TCP MSS (1398): no fragment, no iperf3 warning
VX_MTU=1450
for tool in iperf3 python3; do
  command -v "$tool" >/dev/null || fail "$tool is missing: run hack/setup.sh"
done
IPERF3="$(command -v iperf3)"
RES="$RK_TMP/results" # lines: NET CASE PROTO VALUE [LOST%]
CPU="$RK_TMP/cpu"     # lines: NET PROTO THREAD SECONDS_OF_CPU RUN_SECONDS
: >"$RES"
: >"$CPU"

# `in_host I CMD...`: CMD in host I's network namespace.
in_host() {
  local i=$1
  shift
  nsenter --net="/run/netns/${SWARM_NS[$i]}" "$@"
}

# `iperf3_parse`: iperf3's JSON on stdin: "GBITS" (TCP) or "GBITS LOST%" (UDP, as received), "err" when it failed.
iperf3_parse() {
  python3 -c '
import json, sys
try:
    end = json.load(sys.stdin)["end"]
    r = end["sum_received"]
    if "lost_percent" in r:
        print("%.3f %.1f" % (r["bits_per_second"] / 1e9, r["lost_percent"]))
    else:
        print("%.3f" % (r["bits_per_second"] / 1e9))
except Exception:
    print("err")'
}

# A kernel VXLAN between the hosts (198.51.100.1 and .2, MTU of the overlay),
# on UDP port 4790 (4789 on the hosts is our rootlesskits').
vxlan_up() {
  local i dev
  for i in 0 1; do
    dev=rkswa0
    [ "$i" = 1 ] && dev=rkswb0
    in_host "$i" ip link add rkvx0 type vxlan id 4242 remote "${SWARM_IPS[$((1 - i))]}" dstport 4790 dev "$dev"
    in_host "$i" ip link set rkvx0 mtu "$VX_MTU"
    in_host "$i" ip addr add "198.51.100.$((1 + i))/24" dev rkvx0
    in_host "$i" ip link set rkvx0 up
  done
}
# Host A's iperf3 server, for one driver's run (swarm_stop wants the hosts empty).
host_server_start() {
  bg_job "$RK_TMP/iperf3-direct.log" "$RK_TMP/iperf3-direct.err" nsenter --net="/run/netns/${SWARM_NS[0]}" "$IPERF3" -s -p 5201
  HOST_SERVER=$BG_PID
  wait_until 10 in_host 1 "$IPERF3" -c "${SWARM_IPS[0]}" -p 5201 -t 1 || fail "no iperf3 server on host A (${SWARM_IPS[0]}:5201)"
  wait_until 10 in_host 1 "$IPERF3" -c 198.51.100.1 -p 5201 -t 1 || fail "host B does not reach host A over the kernel VXLAN"
}
host_server_stop() {
  kill -TERM "$HOST_SERVER" 2>/dev/null || true
  wait "$HOST_SERVER" 2>/dev/null || true
}

# `overlay_up`: the overlay, an iperf3 server in a container on A, a client
# container on B; OV_IP is the server's overlay address once B reaches it.
overlay_up() {
  sdocker 0 network create -d overlay --attachable rk-ov >/dev/null || fail "$SWARM_NET: network create -d overlay: $(tail -5 "$(swarm_log 0)")"
  sdocker 0 run -d --name iperf-a --network rk-ov "$SWARM_IMAGE" iperf3 -s >/dev/null || fail "$SWARM_NET: docker run on A: $(tail -5 "$(swarm_log 0)")"
  sdocker 1 run -d --name iperf-b --network rk-ov "$SWARM_IMAGE" sleep 100000 >/dev/null || fail "$SWARM_NET: docker run on B: $(tail -5 "$(swarm_log 1)")"
  OV_IP="$(sdocker 0 inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' iperf-a)"
  T=10 wait_until 60 sdocker 1 exec iperf-b iperf3 -c "$OV_IP" -t 1 ||
    fail "$SWARM_NET: the container on B does not reach iperf3 on A ($OV_IP) over the overlay"
  OV_MTU="$(sdocker 1 exec iperf-b cat /sys/class/net/eth0/mtu)"
  say "$SWARM_NET: overlay up: iperf3 -s on A at $OV_IP, client on B, container MTU $OV_MTU"
}

# `threads_ticks`: "KEY TICKS" for every thread of both hosts' rootlesskit
# trees and of the processes in their user namespaces (dockerd, containerd,
# shims, the containers), KEY = host:process/thread:tid.
threads_ticks() {
  local i p
  for i in 0 1; do
    for p in $(pids_of_tree "${SWARM_RK[$i]}") $(swarm_userns_pids "${SWARM_USERNS[$i]}"); do
      echo "${SWARM_NAMES[$i]#swarm-} $p"
    done
  done | sort -u | python3 -c '
import os, sys
for line in sys.stdin:
    host, pid = line.split()
    try:
        pcomm = open(f"/proc/{pid}/comm").read().strip()
        for tid in os.listdir(f"/proc/{pid}/task"):
            s = open(f"/proc/{pid}/task/{tid}/stat").read()
            tcomm = s[s.index("(") + 1:s.rindex(")")]
            f = s[s.rindex(")") + 2:].split()
            print(f"{host}:{pcomm}/{tcomm}:{tid}".replace(" ", "_"), int(f[11]) + int(f[12]))
    except (OSError, ValueError):
        pass'
}

# `measure NET CASE PROTO`: one iperf3 run; its result appended to RES (and,
# for the overlay, the threads' CPU seconds to CPU).
measure() {
  local net=$1 what=$2 proto=$3 args=(-t "$SECS" -J) out before=""
  [ "$proto" = udp ] && args+=(-u -b "$UDP_BW" -l "$UDP_LEN")
  case "$what" in
    direct) out="$(timeout -s KILL $((SECS + 30)) nsenter --net="/run/netns/${SWARM_NS[1]}" "$IPERF3" -c "${SWARM_IPS[0]}" -p 5201 "${args[@]}" | iperf3_parse)" ;;
    vxlan) out="$(timeout -s KILL $((SECS + 30)) nsenter --net="/run/netns/${SWARM_NS[1]}" "$IPERF3" -c 198.51.100.1 -p 5201 "${args[@]}" | iperf3_parse)" ;;
    overlay)
      before="$(threads_ticks)"
      out="$(T=$((SECS + 30)) sdocker 1 exec iperf-b iperf3 -c "$OV_IP" "${args[@]}" | iperf3_parse)"
      join <(echo "$before" | sort) <(threads_ticks | sort) |
        awk -v net="$net" -v proto="$proto" -v hz="$(getconf CLK_TCK)" -v s="$SECS" '$3 > $2 { print net, proto, $1, ($3 - $2) / hz, s }' >>"$CPU"
      ;;
  esac
  echo "$net $what $proto $out" >>"$RES"
  say "$net round $r: $what $proto: $out"
}

run_net() {
  local net=$1 what proto
  say "== --net=$net"
  swarm_start "$net"
  swarm_form
  overlay_up
  host_server_start
  echo "$net mtu $OV_MTU" >>"$RES"
  for r in $(seq 1 "$ROUNDS"); do
    for what in direct vxlan overlay; do
      for proto in tcp udp; do measure "$net" "$what" "$proto"; done
    done
  done
  host_server_stop
  sdocker 1 rm -f iperf-b >/dev/null
  sdocker 0 rm -f iperf-a >/dev/null
  swarm_stop || fail "$net: left after stopping the daemons:$SWARM_LEFT"
}

swarm_setup
swarm_image_tar "$IPERF3"
vxlan_up
for net in $NETS; do run_net "$net"; done

python3 - "$RES" "$CPU" "$ROUNDS" "$SECS" "$UDP_BW" "$UDP_LEN" "$VX_MTU" <<'EOF' >&3
import collections, statistics, sys
res, cpu, rounds, secs, udp_bw, udp_len, vx_mtu = sys.argv[1:8]
runs = collections.defaultdict(list)   # (net, case, proto) -> [(gbit, lost)]
mtu = {}
nets = []
for line in open(res):
    f = line.split()
    if f[1] == "mtu":
        mtu[f[0]] = f[2]
        nets.append(f[0])
        continue
    if f[3] == "err":
        continue
    runs[tuple(f[:3])].append((float(f[3]), float(f[4]) if len(f) > 4 else 0.0))
med = lambda v: statistics.median(v) if v else float("nan")
gb = lambda k: med([x[0] for x in runs[k]])
lost = lambda k: med([x[1] for x in runs[k]])
rows = []
for net in nets:
    d = (gb((net, "direct", "tcp")), gb((net, "direct", "udp")))
    label = {"direct": f"direct A->B, hosts ({net} run)", "vxlan": f"kernel VXLAN A->B, MTU {vx_mtu} ({net} run)",
             "overlay": f"ours: overlay, --net={net}"}
    for case in ("direct", "vxlan", "overlay"):
        t, u = gb((net, case, "tcp")), gb((net, case, "udp"))
        rows.append((label[case], t, t / d[0], u, u / d[1], lost((net, case, "udp")),
                     " ".join(f"{x[0]:.2f}" for x in runs[(net, case, "tcp")])))
print(f"iperf3 host B -> host A, {rounds} interleaved rounds x {secs} s per driver, median:")
print()
print(f"| {'path':<44} | TCP Gbit/s | x direct | UDP Gbit/s | x direct | UDP lost % | TCP runs")
print(f"|{'-'*46}|------------|----------|------------|----------|------------|---------")
for r in rows:
    print(f"| {r[0]:<44} | {r[1]:10.2f} | {r[2]:8.2f} | {r[3]:10.2f} | {r[4]:8.2f} | {r[5]:10.1f} | {r[6]}")
print()
print(f"UDP: iperf3 -u -b {udp_bw} -l {udp_len}, Gbit/s received by the server. Overlay MTU in the containers: "
      + ", ".join(f"{mtu[n]} (--net={n})" for n in nets) + "; goal: overlay TCP >= 0.50x direct.")
# CPU: the busiest threads during the overlay runs, % of one core.
busy = collections.defaultdict(lambda: collections.defaultdict(float))
for line in open(cpu):
    net, proto, key, s, run = line.split()
    host, proc, _ = key.split(":")
    busy[(net, proto)][f"{host}:{proc}"] += float(s)
for (net, proto), threads in busy.items():
    per_run = int(rounds) * float(secs)
    top = sorted(threads.items(), key=lambda kv: -kv[1])[:6]
    print(f"CPU during overlay {proto.upper()} (--net={net}), % of a core, host:process/thread: "
          + ", ".join(f"{k} {100 * v / per_run:.0f}" for k, v in top))
EOF
