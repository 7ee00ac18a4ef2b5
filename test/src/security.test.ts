// Another local user against our commands (issue 6, items 1-4): what a
// second unprivileged user (the "attacker") can make our cleanup, our state
// files or rk-idmap do to the caller. These need root to switch users.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { asUser, attackerUser, needsRoot, testUser } from './harness.js';

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
  const script = `set -u
mount -t tmpfs -o mode=1777 rk-sec-tmp /tmp
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
