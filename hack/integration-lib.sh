# Sourced by hack/integration-*.sh. Each of those scripts checks one behaviour
# that programs and scripts built on rootlesskit rely on, against any
# implementation: ours by default, another with ROOTLESSKIT=PATH (e.g.
# ROOTLESSKIT=/usr/bin/rootlesskit, Debian's Go rootlesskit) and, where the
# API is used, ROOTLESSCTL=PATH (default: the rootlessctl beside ROOTLESSKIT).
#
# Run them as a user with /etc/subuid and /etc/subgid entries; as root they
# re-run themselves as RK_TEST_USER (default rktest), except where a script
# needs root for its own set-up (it says so). Exit 0 = every check passed,
# 77 = skipped (the reason on stdout), anything else = failed.
set -euo pipefail

RK_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RK_BIN="$RK_REPO/node_modules/.bin"
ROOTLESSKIT="${ROOTLESSKIT:-$RK_BIN/rootlesskit}"
if [ -z "${ROOTLESSCTL:-}" ]; then
  ROOTLESSCTL="$(dirname "$ROOTLESSKIT")/rootlessctl"
  [ -x "$ROOTLESSCTL" ] || ROOTLESSCTL="$RK_BIN/rootlessctl"
fi
RK_TEST_USER="${RK_TEST_USER:-rktest}"
# System daemons the scripts run (dockerd, uuidd) live in /usr/sbin, which a
# normal user's PATH lacks on Debian (dockerd-rootless.sh looks dockerd up on
# PATH too).
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" ;; esac
RK_SCRIPT="$(basename "$0" .sh)"

say() { printf '[%s] %s\n' "$RK_SCRIPT" "$*"; }
fail() {
  printf '[%s] FAIL: %s\n' "$RK_SCRIPT" "$*" >&2
  exit 1
}

# The environment the test user gets: this checkout's commands first on PATH
# (so a `rootlessctl` run inside is ours too), the implementation under test
# and the scripts' own settings (RK_*, DOCKER*) passed on.
USER_ENV=(env PATH="$RK_BIN:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  HOME="$(getent passwd "$RK_TEST_USER" | cut -d: -f6)" USER="$RK_TEST_USER" LOGNAME="$RK_TEST_USER"
  LANG=C.UTF-8 TMPDIR=/tmp ROOTLESSKIT="$ROOTLESSKIT" ROOTLESSCTL="$ROOTLESSCTL")
for _v in $(compgen -e | grep -E '^(RK_|DOCKER)'); do USER_ENV+=("$_v=${!_v}"); done
unset _v

# As root: `as_user CMD...` runs CMD as the test user (with USER_ENV);
# "${AS_USER[@]}" is the same prefix, for bg_job (whose PID must be CMD's).
AS_USER=(setpriv --reuid="$RK_TEST_USER" --regid="$RK_TEST_USER" --init-groups --reset-env -- "${USER_ENV[@]}")
as_user() { "${AS_USER[@]}" "$@"; }

# `begin "$@"` first thing in a script: as root, re-runs it as the test user
# (`begin --as-root "$@"` stays root); then makes the scratch dir RK_TMP and
# arms the clean-up at exit: the background jobs started with `bg_job` are
# killed (SIGKILL, each by its PID, and waited for), the hooks in
# RK_CLEANUP_HOOKS run, and RK_TMP is removed.
begin() {
  if [ "${1:-}" = --as-root ]; then
    shift
  elif [ "$(id -u)" = 0 ]; then
    id "$RK_TEST_USER" >/dev/null 2>&1 || fail "no user $RK_TEST_USER: run hack/test-user.sh as root first"
    exec "${AS_USER[@]}" RK_TEST_USER="$RK_TEST_USER" bash "$0" "$@"
  fi
  RK_TMP="$(mktemp -d "/tmp/rk-$RK_SCRIPT.XXXXXX")"
  trap cleanup EXIT
}
RK_JOBS=()
RK_CLEANUP_HOOKS=()
cleanup() {
  local p
  for p in "${RK_JOBS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${RK_JOBS[@]}"; do wait "$p" 2>/dev/null || true; done
  for p in "${RK_CLEANUP_HOOKS[@]}"; do "$p" || true; done
  rm -rf --one-file-system "$RK_TMP" 2>/dev/null || true
}

# `bg_job OUT ERR CMD...` starts CMD in the background; its PID lands in $BG_PID.
bg_job() {
  local out=$1 err=$2
  shift 2
  "$@" >"$out" 2>"$err" &
  BG_PID=$!
  RK_JOBS+=("$BG_PID")
}

# `wait_until SECONDS CMD...`: polls CMD (every 20 ms) until it succeeds; 1 when it never did.
wait_until() {
  local end=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.02
  done
}

# `wait_exit SECONDS PID`: waits for a background job's exit; its status lands in $EXIT_CODE.
# Fails when it is still running after SECONDS.
wait_exit() {
  local secs=$1 pid=$2
  wait_until "$secs" sh -c "! kill -0 $pid" || fail "process $pid still running after ${secs}s"
  set +e
  wait "$pid"
  EXIT_CODE=$?
  set -e
}

# free_port (a port below the ephemeral range that no socket uses now).
. "$RK_REPO/hack/script-lib.sh"

# `pids_of_tree PID`: PID and every descendant, one a line, found by parent
# PIDs (ps), so that it works on kernels without /proc/PID/task/*/children
# (CONFIG_PROC_CHILDREN); what a script looks at is what it started, never a
# process picked by name across the machine.
pids_of_tree() {
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { parent[$1] = $2 }
    END { print root; for (p in parent) { q = parent[p]; while (q != "" && q != 0 && q != root) q = parent[q]; if (q == root) print p } }'
}

# `alive PID`: the process runs (a zombie waiting to be reaped has died).
alive() {
  [ -e "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}
# `none_alive PID...`: none of them runs.
none_alive() {
  local p
  for p in "$@"; do alive "$p" && return 1; done
  return 0
}
