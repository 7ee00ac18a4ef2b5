#!/usr/bin/env bash
# -p with the builtin and slirp4netns port drivers, as programs publishing
# ports rely on: "tcp" listens on IPv4 and IPv6, "tcp4"/"tcp6" strictly on
# one, the child side may be given in either family whatever the parent side
# is, tcp4 and tcp6 on the same port do not conflict; slirp4netns is IPv4
# only. Each case: an HTTP server inside (busybox httpd on port 80), a fetch
# from the host that must work, and, after it, one that must be refused.
source "$(dirname "$0")/integration-lib.sh"
begin "$@"
say "testing $ROOTLESSKIT"
command -v busybox >/dev/null || fail "busybox is missing: apt-get install busybox"
port="$(free_port)"
v4="127.0.0.1:$port" v6="[::1]:$port"
www="$RK_TMP/www"
mkdir "$www"

# driver | must fetch from | must be refused at (- for none) | -p flags
cases=(
  "builtin|$v4|-|-p 0.0.0.0:$port:80/tcp"
  "builtin|$v6|-|-p 0.0.0.0:$port:80/tcp"
  "builtin|$v4|$v6|-p 0.0.0.0:$port:80/tcp4"
  "builtin|$v6|$v4|-p [::]:$port:80/tcp6"
  "builtin|$v6|-|-p [::]:$port:[::1]:80/tcp6"
  "builtin|$v6|-|-p [::]:$port:[::1]:80/tcp"
  "builtin|$v6|-|-p [::]:$port:[127.0.0.1]:80/tcp6"
  "builtin|$v6|-|-p [::]:$port:[127.0.0.1]:80/tcp"
  "builtin|$v4|-|-p 0.0.0.0:$port:[::1]:80/tcp4"
  "builtin|$v4|-|-p 0.0.0.0:$port:[::1]:80/tcp"
  "builtin|$v4|-|-p 0.0.0.0:$port:80/tcp4 -p [::]:$port:80/tcp6"
  "builtin|$v6|-|-p 0.0.0.0:$port:80/tcp4 -p [::]:$port:80/tcp6"
  "slirp4netns|$v4|$v6|-p 0.0.0.0:$port:80/tcp"
  "slirp4netns|$v4|$v6|-p 0.0.0.0:$port:80/tcp4"
)
n=0
for c in "${cases[@]}"; do
  IFS='|' read -r driver good bad pflags <<<"$c"
  n=$((n + 1))
  what="--port-driver=$driver $pflags"
  echo "case $n: $what" >"$www/index.html"
  state="$RK_TMP/state$n"
  # shellcheck disable=SC2086
  bg_job /dev/null "$RK_TMP/err" "$ROOTLESSKIT" --state-dir="$state" --net=slirp4netns --disable-host-loopback \
    --copy-up=/etc --port-driver="$driver" $pflags busybox httpd -f -p 80 -h "$www"
  rk=$BG_PID
  wait_until 30 curl -fsS -m 2 -o "$RK_TMP/got" "http://$good/" ||
    fail "$what: http://$good/ not reachable: $(curl -sS -m 2 "http://$good/" 2>&1) $(cat "$RK_TMP/err")"
  [ "$(cat "$RK_TMP/got")" = "case $n: $what" ] || fail "$what: http://$good/ served '$(cat "$RK_TMP/got")'"
  if [ "$bad" != - ] && curl -fsS -m 2 -o /dev/null "http://$bad/" 2>/dev/null; then
    fail "$what: http://$bad/ should be refused"
  fi
  kill -TERM "$(cat "$state/child_pid")"
  wait_exit 20 "$rk"
  [ "$EXIT_CODE" = 255 ] || fail "$what: SIGTERM to httpd: rootlesskit exited $EXIT_CODE, not 255: $(cat "$RK_TMP/err")"
  ! ss -Htln "sport = :$port" | grep -q . || fail "$what: port $port still listened on after exit"
  msg="http://$good/ served"
  [ "$bad" = - ] || msg+=", http://$bad/ refused"
  say "ok: $what: $msg"
done
say "PASS"
