#!/bin/sh
":" //; i=0 b=0 f=-; while read -r k v; do case $k in SigBlk:) b=$v;; SigIgn:) i=$v; break;; esac; done </proc/self/status; case ${LISTEN_PID-}/${LISTEN_FDS-} in $$/[1-9]|$$/[1-9][0-9]|$$/[1-9][0-9][0-9]) f=; j=3; n=$((3 + LISTEN_FDS)); while [ $j -lt $n ]; do if [ -e /proc/self/fdinfo/$j ]; then { read -r k v; read -r k v; } </proc/self/fdinfo/$j; [ $((0$v & 524288)) = 0 ] && f=$f$j,; fi; j=$((j + 1)); done;; esac; exec node "$0" "--rk-inherited=$i $b $f" "$@"
// One file, two languages. Run as a program, /bin/sh reads line 2 (":" is a
// no-op, the rest of that line is sh): with builtins only, in the process that
// becomes node, it captures what Node would reset or hide — the ignored and
// blocked signals (/proc/self/status) and, when LISTEN_PID names this process,
// which LISTEN_FDS fds are really inherited — and execs node on this file with
// that as one extra argument (see libs/cli/src/inherited.ts). For node, line 2
// is a string and a comment. The rest loads dist/rk-bypass.cjs (the bundle) with its
// V8 code cache: see libs/cli/loader.cjs (required by path: resolving the
// package's "exports" costs more than the load).
require('../../../libs/cli/loader.cjs')(require('node:path').join(__dirname, '..', 'dist', 'rk-bypass.cjs'));
