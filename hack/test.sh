#!/usr/bin/env bash
# The whole pipeline composed from the single tools in plain shell, checked
# against what `rootlesskit --copy-up=/etc CMD` (ours and Debian's) shows:
#   rk-unshare holds CMD at the gate -> rk-idmap maps it from outside ->
#   rk-unshare --release opens the gate -> rk-copyup makes /etc writable -> CMD
# then the network half (rk-net, for slirp4netns and builtin) against
# rootlesskit --net, the socket bypass (rk-bypass) in that pipeline, and a port forwarded by rk-portfwd beside the pipeline
# against rootlesskit --port-driver=builtin -p, with the clean-up after each.
# Run as a user with /etc/subuid and /etc/subgid entries; as root it re-runs
# itself as RK_TEST_USER (default rktest).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
. hack/script-lib.sh
as_test_user "$@"
export PATH="$root/node_modules/.bin:$PATH"
info() { echo "[test.sh] $*"; }
fail() { echo "[test.sh] FAIL: $*"; exit 1; }

work="$(mktemp -d /tmp/rk-test-sh.XXXXXX)"
# On any exit (a failure too): stop what this script started, then remove its files.
trap 'jobs -p | xargs -r kill 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
state="$work/state"
probe='cat /proc/self/uid_map; echo ---; cat /proc/self/gid_map; echo ---; cat /proc/self/setgroups; echo ---; id -u; touch /etc/rk-test-sh && echo etc-writable; ls -l /etc/passwd | sed "s/.*-> //"'

info "1. rk-unshare --gate: the child waits at the gate"
rk-unshare --user --mount --gate --state-dir "$state" -- \
  rk-copyup --copy-up /etc -- sh -c "$probe" >"$work/out" 2>"$work/err" &
unshare_pid=$!
for _ in $(seq 1 500); do [ -e "$state/child_pid" ] && [ -p "$state/gate" ] && break; sleep 0.01; done
[ -e "$state/child_pid" ] || fail "no $state/child_pid"
pid="$(cat "$state/child_pid")"
info "   child_pid=$pid, uid_map before mapping: '$(cat /proc/$pid/uid_map)'"
[ -z "$(cat /proc/$pid/uid_map)" ] || fail "uid_map written before rk-idmap"

info "2. rk-idmap --state-dir: maps written from outside"
rk-idmap --state-dir "$state"

info "3. rk-unshare --release: the gate opens, rk-copyup runs, then CMD"
rk-unshare --release "$state"
wait "$unshare_pid" || fail "pipeline exited $?: $(cat "$work/err")"
cat "$work/out"

info "4. compare with rootlesskit --copy-up=/etc (ours and Debian's)"
rootlesskit --copy-up=/etc sh -c "$probe" >"$work/ours" 2>&1 || fail "our rootlesskit failed: $(cat "$work/ours")"
/usr/bin/rootlesskit --copy-up=/etc sh -c "$probe" >"$work/ref" 2>&1 || fail "Debian's rootlesskit failed: $(cat "$work/ref")"
norm() { sed -E 's/\.ro[A-Za-z0-9]+/.roX/; s/[[:space:]]+/ /g' "$1"; }
diff <(norm "$work/out") <(norm "$work/ours") || fail "rk-* pipeline differs from our rootlesskit"
diff <(norm "$work/out") <(norm "$work/ref") || fail "rk-* pipeline differs from Debian's rootlesskit"
grep -q etc-writable "$work/out" || fail "/etc not writable"
[ ! -e /etc/rk-test-sh ] || fail "copy-up leaked to the host /etc"
[ ! -e "$state" ] || fail "state dir left behind"
info "PASS: the composed pipeline, our rootlesskit and Debian's rootlesskit agree"

# 5. The network half, composed from the single tools for each NAT driver:
#    rk-unshare --net held at the gate -> rk-idmap -> rk-net --release (driver up,
#    resolv.conf/hosts/net.json written, then the gate opens) -> rk-copyup
#    (copy-up, fresh /sys, resolv.conf/hosts bound) -> CMD; compared with what
#    rootlesskit --net=DRIVER shows.
port="$(free_port)"
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work" >/dev/null 2>&1 &
http_pid=$!
trap 'kill $http_pid 2>/dev/null; rm -rf "$work"' EXIT
echo "hello from the host" >"$work/hello.txt"
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/hello.txt" && break; sleep 0.05; done
netprobe="ip -o -4 addr show tap0 | awk '{print \$4}'; ip route show default | cut -d' ' -f1-5; cat /sys/class/net/tap0/mtu; cat /etc/resolv.conf; curl -sS -m 5 http://10.0.2.2:$port/hello.txt; touch /etc/rk-test-sh && echo etc-writable"
# Processes this run started that still run: those naming $work in their
# arguments (its state dirs), but this script and section 5's web server;
# never a process picked by name (the user's own slirp4netns may run beside).
leftovers() {
  pgrep -u "$(id -u)" -af "$work" | grep -v -e "^$$ " -e "^$http_pid " || true
}
for driver in slirp4netns builtin; do
  info "5. $driver: rk-unshare --net --gate -> rk-idmap -> rk-net --release -> rk-copyup --sysfs --state-dir"
  nstate="$work/net-$driver"
  rk-unshare --user --mount --net --gate --state-dir "$nstate" -- \
    rk-copyup --copy-up /etc --sysfs --state-dir "$nstate" -- sh -c "$netprobe" >"$work/net-out" 2>"$work/net-err" &
  unshare_pid=$!
  for _ in $(seq 1 500); do [ -p "$nstate/gate" ] && break; sleep 0.01; done
  rk-idmap --state-dir "$nstate"
  rk-net --net="$driver" --state-dir "$nstate" --release 2>"$work/net-rknet-err" || fail "rk-net --net=$driver: $(cat "$work/net-rknet-err")"
  wait "$unshare_pid" || fail "$driver pipeline exited $?: $(cat "$work/net-err")"
  cat "$work/net-out"
  # A state dir under $work: whatever this run starts names $work (leftovers).
  rootlesskit --net="$driver" --state-dir="$work/rk-$driver" --copy-up=/etc sh -c "$netprobe" >"$work/net-ours" 2>/dev/null || fail "rootlesskit --net=$driver failed"
  diff "$work/net-out" "$work/net-ours" || fail "the $driver pipeline differs from rootlesskit --net=$driver"
  grep -qx '10.0.2.100/24' "$work/net-out" || fail "$driver: no 10.0.2.100/24 on tap0"
  grep -q 'hello from the host' "$work/net-out" || fail "$driver: no HTTP through the gateway"
  [ ! -e "$nstate" ] || fail "$driver: state dir left behind"
  [ ! -e "$work/rk-$driver" ] || fail "$driver: rootlesskit's state dir left behind"
  [ -z "$(leftovers)" ] || fail "$driver: processes left behind: $(leftovers)"
  info "   PASS: $driver composed in shell = rootlesskit --net=$driver"
done
[ ! -e /etc/rk-test-sh ] || fail "copy-up leaked to the host /etc"
info "PASS: the network pipeline"

# 5b. The socket bypass in the same pipeline: rk-bypass --supervise outside
#     (before the gate opens), rk-bypass -- CMD inside after rk-copyup; CMD's
#     connect() calls go to the supervisor. Here the only destination is the
#     host's loopback through the gateway (10.0.2.2), which is never bypassed:
#     the probe's output is the same as without, and bypass.json counts the
#     connection as left in the namespace (bypass.json is rewritten within a
#     second). test/src/bypass.test.ts has a remote host to bypass to.
info "5b. builtin + bypass: rk-unshare -> rk-idmap -> rk-bypass --supervise -> rk-net --release -> rk-copyup -> rk-bypass -> CMD"
bstate="$work/net-bypass"
rk-unshare --user --mount --net --gate --state-dir "$bstate" -- \
  rk-copyup --copy-up /etc --sysfs --state-dir "$bstate" -- \
  rk-bypass --state-dir "$bstate" -- sh -c "$netprobe; for _ in \$(seq 1 30); do grep -q '\"left\":1' $bstate/bypass.json && break; sleep 0.1; done; cat $bstate/bypass.json" >"$work/bypass-out" 2>"$work/bypass-err" &
unshare_pid=$!
for _ in $(seq 1 500); do [ -p "$bstate/gate" ] && break; sleep 0.01; done
rk-idmap --state-dir "$bstate"
rk-bypass --supervise --state-dir "$bstate" 2>"$work/bypass-sup-err" &
sup_pid=$!
for _ in $(seq 1 500); do [ -S "$bstate/bypass.sock" ] && break; sleep 0.01; done
rk-net --net=builtin --state-dir "$bstate" --release 2>/dev/null || fail "rk-net with bypass"
wait "$unshare_pid" || fail "bypass pipeline exited $?: $(cat "$work/bypass-err")"
wait "$sup_pid" || fail "rk-bypass --supervise exited $?: $(cat "$work/bypass-sup-err")"
grep -q 'hello from the host' "$work/bypass-out" || fail "bypass: no HTTP through the gateway: $(cat "$work/bypass-out" "$work/bypass-err")"
grep -q '"bypassed":0,"left":1' "$work/bypass-out" || fail "bypass: the gateway connection was not counted as left: $(tail -1 "$work/bypass-out")"
[ ! -e "$bstate" ] || fail "bypass: state dir left behind"
[ -z "$(leftovers)" ] || fail "bypass: processes left behind: $(leftovers)"
info "   PASS: rk-bypass in the pipeline: the gateway stays in the namespace, the supervisor ends with it"

# 6. A forwarded port beside the pipeline: a server inside (busybox httpd on
#    port 80), rk-portfwd --state-dir publishing it on the host's loopback,
#    the page fetched from the host; then the same from rootlesskit
#    --port-driver=builtin -p. Stopping the server ends everything: no
#    process, no state dir, no listener and no fd of ours left.
command -v busybox >/dev/null || fail "busybox is missing: apt-get install busybox"
www="$work/www"
mkdir "$www"
head -c 65536 /dev/urandom | base64 >"$www/index.html"
fds_before="$(ls /proc/$$/fd | wc -l)"
listening() { ss -Htln "sport = :$1" | grep -q .; }
fds_of() { ls "/proc/$1/fd" | wc -l; }
fds_at_most() { [ "$(fds_of "$1")" -le "$2" ]; }
fetched() { curl -fsS -m 2 -o "$work/got" "http://127.0.0.1:$1/" 2>/dev/null && cmp -s "$work/got" "$www/index.html"; }
wait_for() { # SECONDS CMD...
  local end=$((SECONDS + $1)); shift
  until "$@"; do [ "$SECONDS" -lt "$end" ] || return 1; sleep 0.02; done
}
for driver in slirp4netns builtin; do
  info "6. $driver: rk-unshare -> rk-idmap -> rk-net --release -> rk-copyup -> httpd, with rk-portfwd --state-dir -p beside"
  pstate="$work/port-$driver"
  pport="$(free_port)"
  rk-unshare --user --mount --net --gate --state-dir "$pstate" -- \
    rk-copyup --copy-up /etc --sysfs --state-dir "$pstate" -- busybox httpd -f -p 80 -h "$www" 2>"$work/port-err" &
  unshare_pid=$!
  for _ in $(seq 1 500); do [ -p "$pstate/gate" ] && break; sleep 0.01; done
  rk-idmap --state-dir "$pstate"
  rk-net --net="$driver" --state-dir "$pstate" --release 2>"$work/port-rknet-err" &
  net_pid=$!
  rk-portfwd --state-dir "$pstate" -p "127.0.0.1:$pport:80/tcp" 2>"$work/port-fwd-err" &
  fwd_pid=$!
  wait_for 30 fetched "$pport" || fail "$driver: the page did not come through 127.0.0.1:$pport: $(cat "$work/port-err" "$work/port-rknet-err" "$work/port-fwd-err")"
  rootlessctl --socket "$pstate/api.sock" list-ports | grep -Eq "^[0-9]+ +tcp +127\.0\.0\.1 +$pport " ||
    fail "$driver: rk-portfwd's API does not list the port"
  info "   the page ($(wc -c <"$www/index.html") bytes) fetched through rk-portfwd on 127.0.0.1:$pport; rootlessctl lists the port"
  fwd_fds="$(fds_of "$fwd_pid")"
  for _ in $(seq 1 20); do fetched "$pport" || fail "$driver: a fetch through rk-portfwd failed"; done
  wait_for 10 fds_at_most "$fwd_pid" "$fwd_fds" ||
    fail "$driver: rk-portfwd holds $(fds_of "$fwd_pid") fds after 20 more fetches, $fwd_fds after the first"
  info "   20 more fetches: rk-portfwd back to $fwd_fds fds"
  kill -TERM "$(cat "$pstate/child_pid")"
  wait "$unshare_pid" && fail "$driver: rk-unshare exited 0 after SIGTERM to httpd"
  wait "$net_pid" || fail "$driver: rk-net exited $?: $(cat "$work/port-rknet-err")"
  wait "$fwd_pid" || fail "$driver: rk-portfwd exited $?: $(cat "$work/port-fwd-err")"
  ! listening "$pport" || fail "$driver: port $pport still listened on"
  [ ! -e "$pstate" ] || fail "$driver: state dir left behind: $(ls -A "$pstate")"
  [ -z "$(leftovers)" ] || fail "$driver: processes left: $(leftovers)"
  info "   stopped: rk-unshare, rk-net and rk-portfwd exited; no listener, state dir or process left"

  info "6. $driver: rootlesskit --net=$driver --port-driver=builtin -p"
  pport="$(free_port)"
  rootlesskit --state-dir="$pstate" --net="$driver" --copy-up=/etc --port-driver=builtin -p "127.0.0.1:$pport:80/tcp" \
    busybox httpd -f -p 80 -h "$www" 2>"$work/port-err" &
  rk_pid=$!
  wait_for 30 fetched "$pport" || fail "rootlesskit --net=$driver: the page did not come through 127.0.0.1:$pport: $(cat "$work/port-err")"
  info "   the same bytes through rootlesskit's builtin port driver on 127.0.0.1:$pport"
  kill -TERM "$(cat "$pstate/child_pid")"
  wait "$rk_pid" && fail "rootlesskit --net=$driver exited 0 after SIGTERM to httpd"
  ! listening "$pport" || fail "rootlesskit --net=$driver: port $pport still listened on"
  [ ! -e "$pstate" ] || fail "rootlesskit --net=$driver: state dir left behind"
  [ -z "$(leftovers)" ] || fail "rootlesskit --net=$driver: processes left: $(leftovers)"
  info "   PASS: $driver: a forwarded port, composed in shell and from rootlesskit"
done
[ "$(ls /proc/$$/fd | wc -l)" = "$fds_before" ] || fail "this shell holds $(ls /proc/$$/fd | wc -l) fds, it held $fds_before"
info "PASS: the forwarded port"
info "7. rk-portfwd: the seed's socat + nsenter recipe as one command, beside it, and rootlessctl at run time"
pstate="$work/port"
rk-unshare --user --net --map-auto --state-dir "$pstate" -- \
  python3 -m http.server 8000 --bind 127.0.0.1 --directory "$work" >/dev/null 2>&1 &
ns_pid=$!
for _ in $(seq 1 500); do [ -e "$pstate/child_pid" ] && break; sleep 0.01; done
child="$(cat "$pstate/child_pid")"
p_ours="$(free_port)"; p_socat="$(free_port)"; p_api="$(free_port)"
rk-portfwd --state-dir "$pstate" -p "127.0.0.1:$p_ours:8000/tcp" 2>"$work/portfwd-err" &
fwd_pid=$!
socat "TCP-LISTEN:$p_socat,bind=127.0.0.1,reuseaddr,fork" \
  EXEC:"nsenter -U -n --preserve-credentials -t $child socat STDIO TCP\:127.0.0.1\:8000" 2>"$work/socat-err" &
socat_pid=$!
for p in "$p_ours" "$p_socat"; do
  for _ in $(seq 1 200); do curl -s -o /dev/null "http://127.0.0.1:$p/hello.txt" && break; sleep 0.05; done
done
ours="$(curl -sS "http://127.0.0.1:$p_ours/hello.txt")" || fail "rk-portfwd: no HTTP: $(cat "$work/portfwd-err")"
theirs="$(curl -sS "http://127.0.0.1:$p_socat/hello.txt")" || fail "socat + nsenter: no HTTP on 127.0.0.1:$p_socat: $(cat "$work/socat-err")"
[ "$ours" = "$theirs" ] && [ "$ours" = "hello from the host" ] || fail "rk-portfwd gave '$ours', socat + nsenter '$theirs'"
id="$(rootlessctl --socket "$pstate/api.sock" add-ports "127.0.0.1:$p_api:8000/tcp")" || fail "rootlessctl add-ports"
[ "$(curl -sS "http://127.0.0.1:$p_api/hello.txt")" = "hello from the host" ] || fail "no HTTP through the port added at run time"
rootlessctl --socket "$pstate/api.sock" remove-ports "$id" >/dev/null || fail "rootlessctl remove-ports"
! curl -s -o /dev/null "http://127.0.0.1:$p_api/hello.txt" || fail "the removed port still answers"
kill "$socat_pid" "$ns_pid"
wait "$fwd_pid" || fail "rk-portfwd exited $? when the namespace's process ended: $(cat "$work/portfwd-err")"
wait "$ns_pid" 2>/dev/null || true
[ ! -e "$pstate" ] || fail "state dir left behind"
info "PASS: rk-portfwd = socat + nsenter, and the ports API at run time"
