#!/usr/bin/env bash
# Rootless Docker Swarm overlay traffic on our rootlesskit: iperf3 between a
# container on host A and a container on host B over an attachable overlay
# network, beside iperf3 between the two hosts directly (the ceiling) and
# between them over a kernel VXLAN of the overlay's MTU made straight on the
# hosts (what the encapsulation alone costs, without any rootlesskit). The
# hosts, users and daemons are hack/integration-swarm.sh's (hack/swarm-lib.sh:
# two network namespaces of ours, 192.0.2.11 and 192.0.2.12, Debian's
# dockerd-rootless.sh on our rootlesskit, 2377/7946/4789 published by the
# builtin port driver). For each case in CASES, one swarm, and in it ROUNDS
# interleaved rounds, each running direct, kernel VXLAN and overlay once:
#   TCP: iperf3 Gbit/s                      (goal: overlay >= 0.5x direct)
#   UDP: iperf3 -u -b UDP_BW -l UDP_LEN, Gbit/s received and % lost
# and, mid-run, the CPU time of the threads of both hosts' rootlesskit trees
# and of the processes in their user namespaces (dockerd, the containers):
# what bounds the overlay.
# A case is a --net driver (default MTU: dockerd-rootless.sh's 1500, the
# overlay's 1450), or DRIVER-jumbo: --mtu=65520 and the overlay made with
# `-o com.docker.network.driver.mtu=JUMBO_MTU` (VXLAN datagrams of up to 64 KiB
# through the NAT engine and the relay, fragmented on the hosts' veth), or
# DRIVER-noudpfast: the builtin NAT engine with its UDP fast path off
# (RK_NAT_UDP_FAST=0: every VXLAN datagram through libslirp), or
# DRIVER-notnlgso: its tap without UDP tunnel GSO (RK_NAT_TUNNEL_GSO=0: the
# kernel cuts the overlay's TCP super-segments up before the tap), to compare.
#
#   hack/benchmark-swarm.sh                 (as root: it makes the hosts)
#   ROUNDS=1 SECONDS_PER_RUN=3 CASES=builtin hack/benchmark-swarm.sh
#
# Only traffic between the two namespaces it makes (and 198.51.100.1/.2 on a
# VXLAN between them); everything stopped and removed at exit, Ctrl-C and
# failure included (integration-lib.sh's trap).
source "$(dirname "$0")/integration-lib.sh"
begin --as-root "$@"
source "$RK_REPO/hack/swarm-lib.sh"
# The table on stdout, progress on stderr.
exec 3>&1 1>&2

ROUNDS="${ROUNDS:-3}"
SECS="${SECONDS_PER_RUN:-10}"
CASES="${CASES:-builtin slirp4netns builtin-jumbo}"
JUMBO_MTU="${JUMBO_MTU:-64000}"
UDP_BW="${UDP_BW:-10G}"
UDP_LEN="${UDP_LEN:-1380}" # below the overlay's TCP MSS (1398): no fragment, no iperf3 warning
VX_MTU=1450
for tool in iperf3 python3; do
  command -v "$tool" >/dev/null || fail "$tool is missing: run hack/setup.sh"
done
IPERF3="$(command -v iperf3)"
RES="$RK_TMP/results" # lines: NET CASE PROTO VALUE [LOST%]
CPU="$RK_TMP/cpu"     # lines: CASE PROTO THREAD CPU_SECONDS WINDOW_SECONDS
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
  local opts=()
  [ -z "$SWARM_MTU" ] || opts=(-o "com.docker.network.driver.mtu=$JUMBO_MTU")
  sdocker 0 network create -d overlay --attachable "${opts[@]}" rk-ov >/dev/null || fail "$SWARM_NET: network create -d overlay: $(tail -5 "$(swarm_log 0)")"
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
    echo "${SWARM_NAMES[$i]#swarm-} ns ${SWARM_USERNS[$i]}"
    for p in $(pids_of_tree "${SWARM_RK[$i]}"); do echo "${SWARM_NAMES[$i]#swarm-} pid $p"; done
  done | python3 -c '
import os, sys
pids, ns = {}, {}
for line in sys.stdin:
    host, kind, v = (line.split() + [""])[:3]
    if kind == "pid":
        pids[v] = host
    elif v:
        ns[v] = host
for d in os.listdir("/proc"):
    if d.isdigit() and d not in pids:
        try:
            host = ns.get(os.readlink(f"/proc/{d}/ns/user"))
        except OSError:
            host = None
        if host:
            pids[d] = host
for pid, host in pids.items():
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

# `cpu_window CASE PROTO`: once the overlay run's client (iperf3 in host
# B's user namespace) has run 1 s, the CPU seconds of each thread over
# SECONDS_PER_RUN - 3 seconds, appended to CPU (nothing for runs shorter
# than 5 s, or when the client does not show up within 20 s).
cpu_window() {
  local win=$((SECS - 3)) before n t0 t1
  [ "$win" -ge 2 ] || return 0
  for n in $(seq 1 100); do
    threads_ticks | grep -q '^b:iperf3/' && break
    [ "$n" -lt 100 ] || return 0
    sleep 0.2
  done
  sleep 1
  t0=$(date +%s%N)
  before="$(threads_ticks)"
  sleep "$win"
  t1=$(date +%s%N)
  echo "$1 $2 window 0 $(((t1 - t0) / 1000000))e-3" >>"$CPU"
  join <(echo "$before" | sort) <(threads_ticks | sort) |
    awk -v c="$1" -v proto="$2" -v hz="$(getconf CLK_TCK)" '$3 > $2 { print c, proto, $1, ($3 - $2) / hz, 0 }' >>"$CPU"
}

# `measure CASE WHAT PROTO`: one iperf3 run (WHAT: direct, vxlan, overlay);
# its result appended to RES.
measure() {
  local c=$1 what=$2 proto=$3 args=(-t "$SECS" -J) out cpu_pid=""
  [ "$proto" = udp ] && args+=(-u -b "$UDP_BW" -l "$UDP_LEN")
  case "$what" in
    direct) out="$(timeout -s KILL $((SECS + 30)) nsenter --net="/run/netns/${SWARM_NS[1]}" "$IPERF3" -c "${SWARM_IPS[0]}" -p 5201 "${args[@]}" | iperf3_parse)" ;;
    vxlan) out="$(timeout -s KILL $((SECS + 30)) nsenter --net="/run/netns/${SWARM_NS[1]}" "$IPERF3" -c 198.51.100.1 -p 5201 "${args[@]}" | iperf3_parse)" ;;
    overlay)
      cpu_window "$c" "$proto" &
      cpu_pid=$!
      out="$(T=$((SECS + 30)) sdocker 1 exec iperf-b iperf3 -c "$OV_IP" "${args[@]}" | iperf3_parse)"
      wait "$cpu_pid" || true
      ;;
  esac
  echo "$c $what $proto $out" >>"$RES"
  say "$c round $r: $what $proto: $out"
}

run_case() {
  local c=$1 what proto net=${1%-jumbo}
  SWARM_MTU="" SWARM_UDP_FAST="" SWARM_TUNNEL_GSO=""
  case "$c" in
    *-jumbo) SWARM_MTU=65520 ;;
    *-noudpfast) SWARM_UDP_FAST=0 net=${c%-noudpfast} ;;
    *-notnlgso) SWARM_TUNNEL_GSO=0 net=${c%-notnlgso} ;;
  esac
  say "== $c: --net=$net${SWARM_MTU:+ --mtu=$SWARM_MTU, overlay MTU $JUMBO_MTU}${SWARM_UDP_FAST:+, RK_NAT_UDP_FAST=0}${SWARM_TUNNEL_GSO:+, RK_NAT_TUNNEL_GSO=0}"
  swarm_start "$net"
  swarm_form
  overlay_up
  host_server_start
  echo "$c mtu $OV_MTU" >>"$RES"
  for r in $(seq 1 "$ROUNDS"); do
    for what in direct vxlan overlay; do
      for proto in tcp udp; do measure "$c" "$what" "$proto"; done
    done
  done
  host_server_stop
  sdocker 1 rm -f iperf-b >/dev/null
  sdocker 0 rm -f iperf-a >/dev/null
  swarm_stop || fail "$c: left after stopping the daemons:$SWARM_LEFT"
}

swarm_setup
swarm_image_tar "$IPERF3"
vxlan_up
for c in $CASES; do run_case "$c"; done

python3 - "$RES" "$CPU" "$ROUNDS" "$SECS" "$UDP_BW" "$UDP_LEN" "$VX_MTU" <<'EOF' >&3
import collections, statistics, sys
res, cpu, rounds, secs, udp_bw, udp_len, vx_mtu = sys.argv[1:8]
runs = collections.defaultdict(list)  # (case, what, proto) -> [(gbit, lost)]
mtu = {}
cases = []
for line in open(res):
    f = line.split()
    if f[1] == "mtu":
        mtu[f[0]] = f[2]
        cases.append(f[0])
    elif f[3] != "err":
        runs[tuple(f[:3])].append((float(f[3]), float(f[4]) if len(f) > 4 else 0.0))
med = lambda v: statistics.median(v) if v else float("nan")
def of(what, proto, case=None):
    return [x for (c, w, p), v in runs.items() if w == what and p == proto and case in (None, c) for x in v]
gb = lambda *k: med([x[0] for x in of(*k)])
lost = lambda *k: med([x[1] for x in of(*k)])
tcp_runs = lambda *k: " ".join(f"{x[0]:.2f}" for x in of(*k))
def name(c):
    net = c.removesuffix("-jumbo").removesuffix("-noudpfast").removesuffix("-notnlgso")
    return (f"ours: overlay, --net={net}" + (f", MTU {mtu[c]} (--mtu=65520)" if c.endswith("-jumbo") else "")
            + (", UDP fast path off" if c.endswith("-noudpfast") else "")
            + (", no tunnel GSO" if c.endswith("-notnlgso") else ""))
# The references over all swarms' rounds; each overlay against the direct runs of its own swarm's rounds.
rows = [("direct A->B, hosts' veth (MTU 1500)", "direct", None),
        (f"kernel VXLAN A->B, MTU {vx_mtu}", "vxlan", None)]
rows += [(name(c), "overlay", c) for c in cases]
print(f"iperf3 host B -> host A, {rounds} interleaved rounds x {secs} s per swarm, median:")
print()
print(f"| {'path':<54} | TCP Gbit/s | x direct | UDP Gbit/s | x direct | UDP lost % | TCP runs")
print(f"|{'-'*56}|------------|----------|------------|----------|------------|---------")
for label, what, c in rows:
    t, u = gb(what, "tcp", c), gb(what, "udp", c)
    print(f"| {label:<54} | {t:10.2f} | {t / gb('direct', 'tcp', c):8.2f} | {u:10.2f} | {u / gb('direct', 'udp', c):8.2f} | "
          f"{lost(what, 'udp', c):10.1f} | {tcp_runs(what, 'tcp', c)}")
print()
print(f"UDP: iperf3 -u -b {udp_bw} -l {udp_len}, Gbit/s received by the server. An overlay's ratios are to the direct runs "
      "of its own swarm's rounds (direct TCP medians: " + ", ".join(f"{c} {gb('direct', 'tcp', c):.2f}" for c in cases)
      + "). Container MTU on the overlay: " + ", ".join(f"{mtu[c]} ({c})" for c in cases)
      + ". Goal: overlay TCP >= 0.50x direct at the default MTU.")
# The busiest threads mid-run (CPU seconds over the sampled windows), % of one core.
busy = collections.defaultdict(lambda: collections.defaultdict(float))
window = collections.defaultdict(float)
for line in open(cpu):
    c, proto, key, s, win = line.split()
    if key == "window":
        window[(c, proto)] += float(win)
    else:
        host, rest = key.split(":", 1)
        proc = rest.rsplit(":", 1)[0]
        busy[(c, proto)][f"{host}:{proc}"] += float(s)
for (c, proto), threads in busy.items():
    top = sorted(threads.items(), key=lambda kv: -kv[1])[:6]
    print(f"CPU mid-run, overlay {proto.upper()} ({c}), % of one core, host:process/thread: "
          + ", ".join(f"{k} {100 * v / window[(c, proto)]:.0f}" for k, v in top))
EOF
