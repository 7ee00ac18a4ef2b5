// rk-copyup as the unprivileged user, inside a user+mount namespace: a
// writable /etc made of symlinks into the original (same shape as upstream
// rootlesskit --copy-up=/etc), nothing leaking to the host, and the refusals.
import t from 'tap';
import { existsSync, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { run, type RunResult } from './harness.js';

// The mount namespace rk-copyup runs in (swap for rk-unshare once it is the reference).
const NS = ['rk-unshare', '--user', '--map-root', '--mount', '--'];

function copyup(args: string[], script?: string): RunResult {
  return run([...NS, 'rk-copyup', ...args, ...(script === undefined ? [] : ['--', 'sh', '-c', script])]);
}

/** name -> symlink target (with .ro<random> normalized to .ro*), or "" for a non-symlink. */
function parseListing(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [name, target = ''] = line.split('\t');
    m.set(name!, target.replace(/^\.ro[0-9a-z]+\//, '.ro*/'));
  }
  return m;
}
const LIST = 'for f in /etc/* /etc/.[!.]*; do [ -e "$f" ] || [ -L "$f" ] || continue; printf "%s\\t%s\\n" "${f#/etc/}" "$(readlink "$f")"; done';

/** Host /etc entries that are symlinks (e.g. localtime, mtab, os-release on Debian 12). */
const hostLinks = readdirSync('/etc').filter((n) => lstatSync(`/etc/${n}`).isSymbolicLink());
const hostNonLinks = readdirSync('/etc').filter((n) => !lstatSync(`/etc/${n}`).isSymbolicLink());
const stagingOf = (stderr: string) => /create the staging dir (\S+)/.exec(stderr)?.[1];

t.test('--copy-up /etc: writable, entries are symlinks into .ro…, symlink entries keep their target', async (t) => {
  const name = `rk-copyup-test-${randomBytes(4).toString('hex')}`;
  const r = copyup(['--debug', '--copy-up', '/etc'], `set -e
    touch /etc/${name}; echo data > /etc/${name}; cat /etc/${name}
    readlink /etc/passwd; head -c 5 /etc/passwd; echo
    ls -d /etc/.ro*
    ${LIST}`);
  t.equal(r.code, 0, r.stderr.slice(-1000));
  const [written, passwdLink, passwdHead, roDir, ...rest] = r.stdout.split('\n');
  t.equal(written, 'data', '/etc is writable');
  t.match(passwdLink, /^\.ro[0-9a-f]{10}\/passwd$/, '/etc/passwd -> .ro…/passwd (relative)');
  t.equal(passwdHead, 'root:', '/etc/passwd is readable through the symlink');
  t.match(roDir, /^\/etc\/\.ro[0-9a-f]{10}$/);
  const inside = parseListing(rest.join('\n'));
  t.ok(hostLinks.length > 0, 'host /etc has symlink entries (Debian 12: localtime, mtab, os-release)');
  const wrong = (names: string[], want: (n: string) => string) =>
    names.filter((n) => inside.get(n) !== want(n)).map((n) => `${n}: ${inside.get(n)} (want ${want(n)})`);
  t.same(wrong(hostLinks, (n) => readlinkSync(`/etc/${n}`)), [], `symlink entries keep their own target (${hostLinks.join(', ')})`);
  t.same(wrong(hostNonLinks, (n) => `.ro*/${n}`), [], `the ${hostNonLinks.length} other entries are symlinks to .ro…/NAME`);

  t.notOk(existsSync(`/etc/${name}`), 'the written file does not show on the host');
  t.notOk(readdirSync('/etc').some((n) => n.startsWith('.ro')), 'no .ro… dir on the host');
  const staging = stagingOf(r.stderr);
  t.match(staging, /^\/tmp\/rootlesskit-b[0-9a-f]{10}$/, 'staged under /tmp');
  t.notOk(existsSync(staging!), `staging dir ${staging} removed`);
});

t.test('same shape as upstream rootlesskit --copy-up=/etc', async (t) => {
  const ours = copyup(['--copy-up', '/etc'], LIST);
  t.equal(ours.code, 0, ours.stderr);
  const ref = run(['/usr/bin/rootlesskit', '--copy-up=/etc', 'sh', '-c', LIST]);
  t.equal(ref.code, 0, `upstream rootlesskit runs: ${ref.stderr}`);
  const a = parseListing(ours.stdout);
  const b = parseListing(ref.stdout);
  const ro = (m: Map<string, string>) => [...m.keys()].filter((k) => k.startsWith('.ro'));
  t.equal(ro(a).length, 1, 'one .ro… dir');
  t.equal(ro(b).length, 1, 'upstream has one .ro… dir too');
  for (const m of [a, b]) for (const k of ro(m)) m.delete(k);
  t.same(Object.fromEntries(a), Object.fromEntries(b), 'same entries, same symlink targets');
});

t.test('--copy-up /run and a second directory in one go', async (t) => {
  const r = copyup(['--copy-up', '/run', '--copy-up', '/etc'], 'touch /run/rk-x /etc/rk-x && ls -A /run | head -3 && readlink /etc/hostname');
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /\.ro[0-9a-f]{10}/, '/run has its .ro… dir');
  t.match(r.stdout, /^\.ro[0-9a-f]{10}\/hostname$/m);
  t.notOk(existsSync('/run/rk-x'));
  t.notOk(existsSync('/etc/rk-x'));
});

t.test('exit status is CMD\'s own; --propagation alone works', async (t) => {
  t.equal(copyup(['--copy-up', '/etc'], 'exit 42').code, 42);
  const r = copyup(['--propagation', 'rslave'], 'echo ok');
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'ok\n');
});

t.test('refusals: one line, exit 2, nothing mounted', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--copy-up', '/tmp'], /^rk-copyup: error: --copy-up \/tmp: \/tmp cannot be copied up/],
    [['--copy-up', '/no-such-dir-rk'], /^rk-copyup: error: --copy-up \/no-such-dir-rk: no such directory/],
    [['--copy-up', 'etc'], /must be absolute \(e\.g\. --copy-up \/etc\)/],
    [['--propagation', 'rshared', '--copy-up', '/etc'], /^rk-copyup: error: --propagation=rshared cannot be used with --copy-up/],
    [['--copy-up-mode', 'overlayfs', '--copy-up', '/etc'], /unknown --copy-up-mode overlayfs \(supported: tmpfs\+symlink\)/],
    [['--no-such-flag'], /^rk-copyup: error: unknown flag: --no-such-flag/],
  ];
  for (const [args, re] of cases) {
    const r = copyup(args, 'echo ran');
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`);
    t.match(r.stderr, re, args.join(' '));
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    t.equal(r.stdout, '', 'CMD did not run');
  }
});

t.test('CMD not found: 127, before anything is mounted', async (t) => {
  const r = run([...NS, 'rk-copyup', '--copy-up', '/etc', '--', 'no-such-command-rk']);
  t.equal(r.code, 127);
  t.match(r.stderr, /no-such-command-rk: command not found/);
});

t.test('a failing step is named with its fix; nothing is left in /tmp', async (t) => {
  const r = run([...NS, 'sh', '-c', 'mount --bind /tmp /tmp && mount -o remount,bind,ro /tmp && exec rk-copyup --copy-up /etc -- echo ran']);
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, /^rk-copyup: error: step 2\/\d+: --copy-up \/etc: create the staging dir \/tmp\/rootlesskit-b\w+ failed: EROFS .*\/tmp must be writable/);
  t.equal(r.stdout, '');
});

t.test('outside a new mount namespace it refuses and changes nothing', async (t) => {
  const r = run(['rk-copyup', '--copy-up', '/etc', '--', 'echo', 'ran']);
  t.equal(r.code, 1);
  t.match(r.stderr, /^rk-copyup: error: refusing to mount: .*rk-unshare --user --mount/);
  t.equal(r.stdout, '');
  t.notOk(readdirSync('/etc').some((n) => n.startsWith('.ro')));
});

t.test('--help documents options, examples and exit codes', async (t) => {
  const r = run(['rk-copyup', '--help']);
  t.equal(r.code, 0);
  for (const s of ['--copy-up', '--propagation', '--copy-up-mode', 'Examples:', 'Exit status', '127']) t.match(r.stdout, s);
});
