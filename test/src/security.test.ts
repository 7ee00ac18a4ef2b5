// Another local user against our commands (issue 6, items 1-4): what a
// second unprivileged user (the "attacker") can make our cleanup, our state
// files or rk-idmap do to the caller. These need root to switch users.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { asUser, attackerUser, binDir, needsRoot, repoRoot, run, start, tempDir, testUser, waitFor } from './harness.js';

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const sh = (argv: string[]) => argv.map(q).join(' ');

// Watches a directory as the attacker would (inotify via fs.watch) and prints
// every name that appears in it; marks itself ready with DIR/.watch-ready.
const WATCH = `const fs = require('node:fs');
const dir = process.argv[1];
fs.watch(dir, (ev, name) => { if (name && name !== '.watch-ready') process.stdout.write(name + '\\n'); });
fs.mkdirSync(dir + '/.watch-ready');
setInterval(() => {}, 1000);`;

/**
 * Runs the victim's commands (as the test user) in a mount namespace of the
 * test's own whose /tmp is a fresh shared tmpfs (mode 1777, like the real
 * one), with the attacker watching it; returns every name that appeared.
 */
function namesSeenInTmp(victim: string[][]): { names: string[]; codes: string; stderr: string } {
  const watcher = sh(asUser([process.execPath, '-e', WATCH, '/tmp'], attackerUser));
  const runs = victim.map((argv) => `${sh(asUser(argv, testUser))} >/dev/null 2>>/run/rk-sec-err.$$ </dev/null; echo "rc=$?" >&2`).join('\n');
  // A checkout under /tmp (a clone made there) stays reachable: bound back
  // into the fresh /tmp from the old one (kept on /mnt meanwhile; mount(8)
  // resolves /proc/self/fd links by name), before the attacker watches.
  const inTmp = repoRoot.startsWith('/tmp/') ? q(repoRoot.slice('/tmp/'.length)) : '';
  const script = `set -u
${inTmp ? 'mount --bind /tmp /mnt || exit 1' : ''}
mount -t tmpfs -o mode=1777 rk-sec-tmp /tmp
${inTmp ? `mkdir -p /tmp/${inTmp} && mount --bind /mnt/${inTmp} /tmp/${inTmp} && umount -l /mnt || exit 1` : ''}
${watcher} &
w=$!
while [ ! -d /tmp/.watch-ready ]; do sleep 0.01; done
${runs}
sleep 0.3
kill $w; wait $w 2>/dev/null
cat /run/rk-sec-err.$$ >&2; rm -f /run/rk-sec-err.$$`;
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8', timeout: 60_000 });
  const names = [...new Set(r.stdout.split('\n').filter(Boolean))].sort();
  return { names, codes: r.stderr.split('\n').filter((l) => l.startsWith('rc=')).join(' '), stderr: r.stderr };
}

t.test('item 1: copy-up and the fresh /sys create nothing in /tmp that a cleanup could remove by path later', { skip: needsRoot }, async (t) => {
  const { names, codes, stderr } = namesSeenInTmp([
    ['rootlesskit', '--copy-up=/etc', '--copy-up=/run', '--net=none', 'true'],
    ['rk-unshare', '--user', '--map-root', '--mount', '--', 'rk-copyup', '--copy-up', '/etc', '--', 'true'],
  ]);
  t.equal(codes, 'rc=0 rc=0', stderr);
  // rootlesskit's own default state dir (mkdtemp, 0700, in sticky /tmp) is the only thing allowed.
  const unexpected = names.filter((n) => !/^rootlesskit[A-Za-z0-9]{6}$/.test(n));
  t.same(unexpected, [], 'no staging dir appears in the shared /tmp');
});

/** A dir the attacker owns and shares (mode 0777, like a group project dir gone wrong), made fresh. */
function attackerDir(t: Test): string {
  const r = run(['mktemp', '-d', '/tmp/rk-sec-shared-XXXXXX'], { user: attackerUser });
  const dir = r.stdout.trim();
  run(['chmod', '0777', dir], { user: attackerUser });
  t.teardown(() => spawnSync('rm', ['-rf', dir]));
  return dir;
}

t.test('item 3: a state dir another user can write is refused; nothing of the caller\'s is written through their symlinks', { skip: needsRoot }, async (t) => {
  const shared = attackerDir(t);
  const mine = tempDir();
  t.teardown(() => spawnSync('rm', ['-rf', mine]));
  run(['sh', '-c', `echo precious > ${mine}/file`]);
  // The attacker plants symlinks at every name we write (and the temporary one).
  for (const name of ['.child_pid.tmp', 'child_pid', 'lock', 'api.sock', 'gate']) {
    run(['ln', '-s', `${mine}/file`, `${shared}/${name}`], { user: attackerUser });
  }
  for (const argv of [['rootlesskit', '--state-dir', shared, 'true'], ['rk-unshare', '--map-root', '--state-dir', shared, '--', 'true']]) {
    const r = run(argv);
    t.equal(r.code, 1, `${argv[0]}: refused`);
    t.match(r.stderr, new RegExp(`state dir ${shared} belongs to uid \\d+, not to you`), argv[0]);
    t.equal(readFileSync(`${mine}/file`, 'utf8'), 'precious\n', `${argv[0]}: the caller's file is unchanged`);
  }
  // The same dir owned by the caller but left writable by others: refused too.
  const open = tempDir();
  t.teardown(() => spawnSync('rm', ['-rf', open]));
  run(['chmod', '0777', open]);
  const r = run(['rootlesskit', '--state-dir', open, 'true']);
  t.equal(r.code, 1);
  t.match(r.stderr, `state dir ${open} can be written by others (mode 0777): chmod go-w ${open}`);
  // A state dir inside a dir the attacker can write (no sticky bit): they could swap it.
  const inShared = run(['rootlesskit', '--state-dir', `${shared}/s`, 'true']);
  t.equal(inShared.code, 1);
  t.match(inShared.stderr, /which anyone can write \(mode 0777, no sticky bit\)/);
});

t.test('item 3: rk-unshare --release writes only to a FIFO, never through a symlink or into a file', { skip: needsRoot }, async (t) => {
  const shared = attackerDir(t);
  const mine = tempDir();
  t.teardown(() => spawnSync('rm', ['-rf', mine]));
  run(['sh', '-c', `echo precious > ${mine}/file`]);
  run(['ln', '-s', `${mine}/file`, `${shared}/gate`], { user: attackerUser });
  const viaLink = run(['rk-unshare', '--release', shared]);
  t.equal(viaLink.code, 1);
  t.equal(viaLink.stderr, `rk-unshare: error: ${shared}/gate is a symlink, not the gate FIFO of rk-unshare: nothing written (is ${shared} the state dir of rk-unshare --gate?)\n`);
  t.equal(readFileSync(`${mine}/file`, 'utf8'), 'precious\n', 'the symlink\'s target is unchanged');
  run(['sh', '-c', `echo data > ${mine}/gate`]);
  const file = run(['rk-unshare', '--release', mine]);
  t.equal(file.code, 1, 'a regular file named gate: non-zero');
  t.match(file.stderr, /gate is a regular file, not the gate FIFO/);
  t.equal(readFileSync(`${mine}/gate`, 'utf8'), 'data\n');
});

t.test('item 4: files we did not create are never removed; a dir holding them is refused', async (t) => {
  const proj = tempDir();
  t.teardown(() => spawnSync('rm', ['-rf', proj]));
  run(['sh', '-c', `cd ${proj} && for f in hosts resolv.conf gate notes; do echo "$f of mine" > $f; done`]);
  for (const argv of [['rootlesskit', '--state-dir', proj, 'true'], ['rk-unshare', '--map-root', '--state-dir', proj, '--', 'true']]) {
    const r = run(argv);
    t.equal(r.code, 1, argv[0]);
    t.match(r.stderr, new RegExp(`state dir ${proj} holds gate, which rootlesskit did not create .*: choose an empty or new --state-dir, or move ${proj}/gate away`));
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    t.same(readdirSync(proj).sort(), ['gate', 'hosts', 'notes', 'resolv.conf'], `${argv[0]}: every file kept, no lock left behind`);
    for (const f of ['hosts', 'resolv.conf', 'gate', 'notes']) t.equal(readFileSync(`${proj}/${f}`, 'utf8'), `${f} of mine\n`);
  }
  // A directory named child_pid where upstream would have left a file.
  const odd = tempDir();
  t.teardown(() => spawnSync('rm', ['-rf', odd]));
  run(['mkdir', `${odd}/child_pid`]);
  const r = run(['rootlesskit', '--state-dir', odd, 'true']);
  t.equal(r.code, 1);
  t.match(r.stderr, /holds child_pid, which rootlesskit did not create/);
  t.same(readdirSync(odd), ['child_pid'], 'no lock left behind');
  // Other content is kept, the state files are removed, the dir stays.
  const home = tempDir();
  t.teardown(() => spawnSync('rm', ['-rf', home]));
  run(['sh', '-c', `echo mine > ${home}/notes`]);
  const ok = run(['rootlesskit', '--state-dir', home, 'sh', '-c', 'ls "$ROOTLESSKIT_STATE_DIR"']);
  t.equal(ok.code, 0, ok.stderr);
  t.same(ok.stdout.trim().split('\n').sort(), ['api.sock', 'child_pid', 'lock', 'notes']);
  t.same(readdirSync(home), ['notes'], 'only our files removed at exit');
});

t.test('item 4: a restart after SIGKILL works on a dir left by upstream\'s rootlesskit, and by ours', async (t) => {
  for (const killed of ['/usr/bin/rootlesskit', 'rootlesskit']) {
    const dir = tempDir();
    t.teardown(() => spawnSync('rm', ['-rf', dir]));
    const s = `${dir}/s`;
    const p = start([killed, '--state-dir', s, 'sleep', '100']);
    let err = '';
    let gone = false;
    p.stderr!.on('data', (d) => (err += d));
    p.on('exit', () => (gone = true));
    await waitFor(() => gone || (existsSync(`${s}/api.sock`) && existsSync(`${s}/child_pid`)), 30_000);
    t.notOk(gone, `${killed} is running: ${err}`);
    const exited = new Promise((r) => p.on('exit', r));
    process.kill(p.pid!, 'SIGKILL');
    await exited; // its lock died with it (its child gets SIGKILL by pdeathsig)
    const left = readdirSync(s).sort();
    t.ok(left.includes('child_pid') && left.includes('api.sock'), `${killed} left ${left.join(' ')}`);
    const again = run(['rootlesskit', '--state-dir', s, 'sh', '-c', 'ls -A "$ROOTLESSKIT_STATE_DIR"']);
    t.equal(again.code, 0, again.stderr);
    t.same(again.stdout.trim().split('\n').sort(), ['api.sock', 'child_pid', 'lock'], `stale files of ${killed} wiped`);
    t.notOk(existsSync(s), 'state dir removed at exit');
  }
});

t.test('item 2: rk-idmap run as root never maps a process of another user', { skip: needsRoot }, async (t) => {
  // The attacker's process in a new user namespace, its PID in a state dir of theirs.
  const p = start(['unshare', '--user', '--', 'sleep', '60'], { user: attackerUser });
  t.teardown(() => {
    try {
      process.kill(p.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  });
  await waitFor(() => {
    try {
      return readFileSync(`/proc/${p.pid}/comm`, 'utf8').trim() === 'sleep';
    } catch {
      return false;
    }
  });
  const dir = attackerDir(t);
  run(['sh', '-c', `printf %s ${p.pid} > ${dir}/child_pid`], { user: attackerUser });
  const rkIdmap = join(binDir, 'rk-idmap');
  for (const args of [['--map-root', '--state-dir', dir], ['--map-root', String(p.pid)]]) {
    const r = spawnSync(rkIdmap, args, { encoding: 'utf8', env: { PATH: process.env.PATH } });
    t.equal(r.status, 1, `as root: rk-idmap ${args.join(' ')} is refused`);
    t.match(r.stderr, new RegExp(`^rk-idmap: error: process ${p.pid} belongs to uid \\d+, not to uid 0 whose IDs would be mapped`), args.join(' '));
  }
  t.equal(readFileSync(`/proc/${p.pid}/uid_map`, 'utf8'), '', 'the attacker\'s process got no map (it would have been real root)');
  t.equal(readFileSync(`/proc/${p.pid}/setgroups`, 'utf8'), 'allow\n', 'nor was setgroups written');
});
