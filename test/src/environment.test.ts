// The caller's environment reaches CMD unchanged (issue 6, items 5-7), as
// with upstream rootlesskit and util-linux unshare: ignored and blocked
// signals, bytes that are not UTF-8 in argv and env, and systemd socket
// activation only by systemd's rules.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { run, start, tempDir, waitFor } from './harness.js';

/** The three ways CMD is started: rootlesskit, rk-unshare, and rk-copyup's exec. */
const LAUNCHERS: Array<[string, string[]]> = [
  ['rootlesskit', ['rootlesskit']],
  ['rk-unshare', ['rk-unshare', '--map-root', '--']],
  ['rk-copyup', ['rk-unshare', '--map-root', '--mount', '--', 'rk-copyup', '--']],
];
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

t.test('item 5: signals the caller ignored stay ignored in CMD, and its blocked mask stays blocked', async (t) => {
  for (const [name, launcher] of LAUNCHERS) {
    const cmd = [...launcher, 'sh', '-c', 'grep -E "^Sig(Ign|Blk)" /proc/self/status'].map(q).join(' ');
    const r = run(['sh', '-c', `trap '' HUP INT; exec ${cmd}`]);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /SigIgn:\t0000000000000003\n/, `${name}: HUP and INT ignored in CMD (as upstream shows: 0x3)`);
    // Python blocks SIGUSR1 (bit 10: 0x200) and execs the launcher with it
    // blocked (CMD is grep itself: a shell would clear the mask of what it forks).
    const b = run(['python3', '-c', 'import os, signal, sys; signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1]); os.execvp(sys.argv[1], sys.argv[1:])', ...launcher, 'grep', '^SigBlk', '/proc/self/status']);
    t.equal(b.code, 0, b.stderr);
    t.equal(b.stdout, 'SigBlk:\t0000000000000200\n', `${name}: SIGUSR1 still blocked in CMD`);
  }
});

t.test('item 5: nohup rootlesskit survives SIGHUP, and an ignored signal is not forwarded', async (t) => {
  for (const [name, launcher] of LAUNCHERS.slice(0, 2)) {
    const dir = tempDir();
    const s = `${dir}/s`;
    const stateFlag = name === 'rootlesskit' ? ['--state-dir', s] : ['--map-root', '--state-dir', s, '--'];
    const p = start(['nohup', launcher[0]!, ...stateFlag, 'sh', '-c', 'trap "echo got-USR1" USR1; sleep 1.5 & wait $!; wait $!; echo survived']);
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    await waitFor(() => existsSync(`${s}/child_pid`));
    await new Promise((r) => setTimeout(r, 200));
    const code = await new Promise<number | null>((resolve) => {
      p.on('close', resolve); // stdout read to its end
      process.kill(p.pid!, 'SIGHUP'); // nohup execs: p.pid is the launcher itself
    });
    t.equal(code, 0, `${name}: not killed by SIGHUP`);
    t.equal(out, 'survived\n', `${name}: CMD went on`);
  }
  // (trap '' USR1; rootlesskit CMD): a USR1 sent to rootlesskit is not passed to CMD (which traps it).
  const dir = tempDir();
  const p = start(['sh', '-c', `trap '' USR1; exec rootlesskit --state-dir ${dir}/s sh -c 'trap "echo got-USR1" USR1; sleep 1 & wait $!; wait $!; echo done'`]);
  let out = '';
  p.stdout!.on('data', (d) => (out += d));
  await waitFor(() => existsSync(`${dir}/s/child_pid`));
  await new Promise((r) => setTimeout(r, 200));
  process.kill(p.pid!, 'SIGUSR1');
  const code = await new Promise((r) => p.on('close', r));
  t.equal(code, 0);
  t.equal(out, 'done\n', 'USR1 ignored by the caller: not forwarded');
});

t.test('item 6: argv and environment bytes that are not UTF-8 reach CMD unchanged', async (t) => {
  const dir = tempDir();
  run(['sh', '-c', `touch "${dir}/caf$(printf '\\351').txt"`]);
  for (const [name, launcher] of LAUNCHERS) {
    const cmd = [...launcher].map(q).join(' ');
    const r = run(['sh', '-c', `cd ${dir} && X="$(printf 'a\\351b')" ${cmd} sh -c 'ls "$1" && printf %s "$X" | od -An -tx1' sh "caf$(printf '\\351').txt"`]);
    t.equal(r.code, 0, `${name}: ${r.stderr}`);
    t.match(r.stdout, /^caf.\.txt\n/, `${name}: the file name arrives as it was given`);
    t.match(r.stdout, / 61 e9 62\n$/, `${name}: the env value arrives byte for byte`);
  }
});

t.test('item 7: LISTEN_FDS only by systemd\'s rules: fds that were not inherited are never passed', async (t) => {
  // No fds 3 and 4 inherited: CMD gets none (not Node's own), and rootlesskit exits.
  const r = run(['sh', '-c', 'LISTEN_FDS=2 LISTEN_PID=$$ exec rootlesskit sh -c \'echo "$LISTEN_FDS $LISTEN_PID"; for f in 3 4; do [ -e /proc/$$/fd/$f ] && echo "fd $f: $(readlink /proc/$$/fd/$f)"; done; echo end\''], { timeout: 20_000 });
  t.equal(r.signal, null, 'rootlesskit did not hang');
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^2 \d+\nend\n$/, 'no fd 3 or 4 in CMD; LISTEN_* left as they were (they do not name CMD)');
  // LISTEN_PID names another process: an inherited fd 3 is not passed on as a socket either.
  const other = run(['sh', '-c', 'LISTEN_FDS=1 LISTEN_PID=1 exec rootlesskit sh -c \'[ -e /proc/$$/fd/3 ] && echo "fd 3: $(readlink /proc/$$/fd/3)"; echo "$LISTEN_PID"\' 3</etc/hostname']);
  t.equal(other.code, 0, other.stderr);
  t.equal(other.stdout, '1\n', 'not for us: nothing passed, LISTEN_PID unchanged');
  // The real thing still works (fd 3 inherited, LISTEN_PID ours).
  const ok = run(['sh', '-c', 'LISTEN_FDS=1 LISTEN_PID=$$ exec rootlesskit sh -c \'echo "$LISTEN_PID $$ $(readlink /proc/$$/fd/3)"\' 3</etc/hostname']);
  t.equal(ok.code, 0, ok.stderr);
  const [lpid, self, target] = ok.stdout.trim().split(' ');
  t.equal(lpid, self, 'LISTEN_PID is CMD\'s PID');
  t.equal(target, '/etc/hostname');
});
