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
  t.notMatch(r.stderr, /\/tmp\//, 'no step touches /tmp (the original tree is moved aside as a detached mount)');
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
    [['--copy-up', '/'], /^rk-copyup: error: --copy-up \/: the root directory cannot be copied up/],
    [['--copy-up', '/no-such-dir-rk'], /^rk-copyup: error: --copy-up \/no-such-dir-rk: no such directory/],
    [['--copy-up', 'etc'], /must be absolute \(e\.g\. --copy-up \/etc\)/],
    [['--propagation', 'rshared', '--copy-up', '/etc'], /^rk-copyup: error: --propagation=rshared cannot be used with --copy-up/],
    [['--copy-up-mode', 'bogus', '--copy-up', '/etc'], /unknown --copy-up-mode bogus \(supported: tmpfs\+symlink, overlayfs, auto\)/],
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

t.test('/tmp can be copied up (nothing is staged there)', async (t) => {
  const r = copyup(['--copy-up', '/tmp'], 'touch /tmp/rk-copyup-tmp && ls -A /tmp | grep -c "^\\.ro"');
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, '1\n');
  t.notOk(existsSync('/tmp/rk-copyup-tmp'));
});

// A seccomp filter (python3 + ctypes) that makes open_tree fail with ENOSYS,
// as on a kernel older than 5.2: copy-up must fail with a clear message, and
// must not fall back to a staging dir in /tmp.
const NO_OPEN_TREE = `import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
def ins(code, jt, jf, k): return struct.pack('HBBI', code, jt, jf, k)
prog = b''.join([ins(0x20, 0, 0, 0), ins(0x15, 0, 1, 428), ins(0x06, 0, 0, 0x50000 | 38), ins(0x06, 0, 0, 0x7fff0000)])
buf = ctypes.create_string_buffer(prog)
class Fprog(ctypes.Structure): _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_void_p)]
fp = Fprog(4, ctypes.addressof(buf))
assert libc.prctl(38, 1, 0, 0, 0) == 0
assert libc.prctl(22, 2, ctypes.byref(fp), 0, 0) == 0, ctypes.get_errno()
os.execvp(sys.argv[1], sys.argv[1:])`;

t.test('a kernel without open_tree: a clear error, no fallback to /tmp, nothing left', async (t) => {
  const before = readdirSync('/tmp').sort();
  const r = run(['python3', '-c', NO_OPEN_TREE, ...NS, 'rk-copyup', '--copy-up', '/etc', '--', 'echo', 'ran']);
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, /^rk-copyup: error: step 2\/\d+: --copy-up \/etc: take a detached copy .* failed: ENOSYS .*Linux 5\.2 or later is needed/);
  t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  t.equal(r.stdout, '');
  t.same(readdirSync('/tmp').filter((n) => n.startsWith('rootlesskit')).filter((n) => !before.includes(n)), [], 'nothing staged in /tmp');
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
