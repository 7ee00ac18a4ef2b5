#!/usr/bin/env bash
# --reaper=false (CMD is rootlesskit's own child, nobody else reaps): CMD's
# output and exit code come through, and under a terminal CMD keeps it as its
# controlling terminal (an interactive shell gets job control, no "cannot set
# terminal process group"). The terminal checks also run without --reaper.
source "$(dirname "$0")/integration-lib.sh"
begin "$@"
say "testing $ROOTLESSKIT"
command -v script >/dev/null || fail "script(1) is missing: apt-get install bsdutils"

out="$("$ROOTLESSKIT" --reaper=false echo hello from CMD 2>&1)" || fail "--reaper=false echo failed: $out"
[ "$out" = "hello from CMD" ] || fail "--reaper=false echo printed '$out'"
say "ok: --reaper=false: CMD's output"

set +e
"$ROOTLESSKIT" --reaper=false sh -c 'exit 42' >/dev/null 2>&1
code=$?
set -e
[ "$code" = 42 ] || fail "--reaper=false: 'exit 42' gave $code"
say "ok: --reaper=false: CMD's exit code"

for mode in --reaper=false ""; do
  # script(1) runs rootlesskit on a new pseudo-terminal; an interactive bash
  # inside says whether it got its terminal and job control.
  TERM=dumb script -qec "$ROOTLESSKIT $mode bash --norc -ic 'tty; test -t 0 && echo stdin-is-a-tty; echo DONE'" /dev/null \
    </dev/null >"$RK_TMP/tty" 2>&1 || fail "${mode:-default}: under a terminal: $(cat "$RK_TMP/tty")"
  tr -d '\r' <"$RK_TMP/tty" >"$RK_TMP/tty.txt"
  ! grep -qi 'cannot set terminal process group\|no job control' "$RK_TMP/tty.txt" ||
    fail "${mode:-default}: CMD lost its controlling terminal: $(cat "$RK_TMP/tty.txt")"
  grep -qx '/dev/pts/[0-9]*' "$RK_TMP/tty.txt" || fail "${mode:-default}: tty shows no terminal: $(cat "$RK_TMP/tty.txt")"
  grep -qx stdin-is-a-tty "$RK_TMP/tty.txt" || fail "${mode:-default}: stdin is not a terminal"
  grep -qx DONE "$RK_TMP/tty.txt" || fail "${mode:-default}: CMD did not finish: $(cat "$RK_TMP/tty.txt")"
  say "ok: ${mode:-default (no --pidns)}: CMD keeps the terminal, with job control"
done
say "PASS"
