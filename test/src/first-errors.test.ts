// The errors a newcomer hits first: each is one line on stderr that ends in
// the one command that fixes it, and (where this machine allows) the test
// then runs that very command and shows the failing call now works. The
// broken situations are made so that the machine stays as it was: a private
// mount namespace (a copy of /etc, a tmpfs on /dev/net), a user namespace of
// the test's own (its own user.max_user_namespaces), or a PATH without a
// binary. Commands run as the unprivileged test users.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asUser, binDir, needsRoot, noSubidUser, run, tempDir, testGid, testUid, type RunResult } from './harness.js';

/** Only the error lines (upstream's warnings, e.g. about --disable-host-loopback, may precede them). */
const errors = (r: RunResult) => r.stderr.split('\n').filter((l) => l !== '' && !/warning:/.test(l));

/** The one error line, checked to be the only one. */
function oneError(t: Test, r: RunResult, what: string): string {
  const lines = errors(r);
  t.equal(lines.length, 1, `${what}: one error line (${r.stderr.trim()})`);
  return lines[0] ?? '';
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

interface Step {
  name: string;
  argv: string[];
  /** Whom it runs as: the test user (default), the user without subordinate IDs, or root (the set-up's own steps). */
  as?: 'user' | 'nosubid' | 'root';
}

/**
 * Runs `setup` (bash, as root; $R is a directory of its own, removed after) and then each step in one bash, in a private
 * mount namespace (`unshare -m --propagation private`): nothing it mounts is
 * seen outside, and all of it goes away when it exits. `wrap` may put the
 * whole script inside another command. Returns each step's result.
 */
function privately(setup: string, steps: Step[], opts: { wrap?: (script: string) => string[] } = {}): Record<string, RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'rk-first-'));
  let script = `set -u\nR=${dir}\n${setup}\n`;
  steps.forEach((s, i) => {
    const argv = s.as === 'root' ? s.argv : asUser(s.argv, s.as === 'nosubid' ? noSubidUser : undefined);
    script += `${argv.map(q).join(' ')} </dev/null >${dir}/${i}.out 2>${dir}/${i}.err; echo $? >${dir}/${i}.rc\n`;
  });
  const cmd = opts.wrap ? opts.wrap(script) : ['unshare', '-m', '--propagation', 'private', 'bash', '-c', script];
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', timeout: 120_000, cwd: '/' });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`set-up failed (${r.status}): ${r.stderr}`);
  }
  const out: Record<string, RunResult> = {};
  steps.forEach((s, i) => {
    const read = (ext: string) => (existsSync(`${dir}/${i}.${ext}`) ? readFileSync(`${dir}/${i}.${ext}`, 'utf8') : '');
    out[s.name] = { code: read('rc') === '' ? null : Number(read('rc')), signal: null, stdout: read('out'), stderr: read('err') };
  });
  rmSync(dir, { recursive: true, force: true });
  return out;
}

/** The fix printed at the end of the error line, without "sudo " (the tests run it as root, in their own namespaces). */
function fixOf(line: string, re: RegExp): string[] {
  const m = re.exec(line);
  if (!m) return ['false'];
  return m[1]!.replace(/^sudo /, '').split(' ');
}

t.test('no subordinate IDs: the usermod command with a free range, and after it rootlesskit runs', { skip: needsRoot }, async (t) => {
  const subuidBefore = readFileSync('/etc/subuid', 'utf8');
  // a copy of /etc (tmpfs) over /etc: usermod writes the copy; the host's files are never touched
  const setup = 'mkdir "$R/etc" && mount -t tmpfs -o mode=755 tmpfs "$R/etc" && cp -a /etc/. "$R/etc"/ && mount --bind "$R/etc" /etc || exit 1';
  const first = privately(setup, [
    { name: 'kit', argv: ['rootlesskit', 'true'], as: 'nosubid' },
    { name: 'unshare', argv: ['rk-unshare', '--user', '--map-auto', '--', 'true'], as: 'nosubid' },
    { name: 'idmap', argv: ['rk-idmap', '--print'], as: 'nosubid' },
  ]);
  const re = new RegExp(`^\\[rootlesskit:parent\\] error: no subordinate UIDs and GIDs for user "${noSubidUser}" \\(uid \\d+\\) in /etc/subuid and /etc/subgid: (sudo usermod --add-subuids (\\d+)-(\\d+) --add-subgids \\2-\\3 ${noSubidUser})$`);
  t.equal(first.kit!.code, 1);
  const line = oneError(t, first.kit!, 'rootlesskit');
  t.match(line, re);
  const [, , from, to] = re.exec(line) ?? [];
  t.equal(Number(to) - Number(from) + 1, 65536, '65536 IDs');
  for (const l of readFileSync('/etc/subuid', 'utf8').split('\n').concat(readFileSync('/etc/subgid', 'utf8').split('\n'))) {
    const [, s, c] = l.split(':');
    if (s === undefined || c === undefined) continue;
    t.ok(Number(s) + Number(c) <= Number(from) || Number(s) > Number(to), `the range overlaps no entry (${l})`);
  }
  for (const [name, prefix] of [['unshare', 'rk-unshare: error: '], ['idmap', 'rk-idmap: error: ']] as const) {
    t.equal(first[name]!.code, 1, name);
    t.equal(oneError(t, first[name]!, name), line.replace('[rootlesskit:parent] error: ', prefix), `${name}: the same line`);
  }

  const fixed = privately(setup, [
    { name: 'fix', argv: fixOf(line, re), as: 'root' },
    { name: 'kit', argv: ['rootlesskit', 'sh', '-c', 'id -u; cat /proc/self/uid_map'], as: 'nosubid' },
  ]);
  t.equal(fixed.fix!.code, 0, `the printed command runs (${fixed.fix!.stderr.trim()})`);
  t.equal(fixed.kit!.code, 0, `then rootlesskit runs (${fixed.kit!.stderr.trim()})`);
  t.match(fixed.kit!.stdout, new RegExp(`^0\\n.*\\n\\s*1\\s+${from}\\s+65536\\n$`), 'root inside, the new range mapped below');
  t.equal(readFileSync('/etc/subuid', 'utf8'), subuidBefore, "the host's /etc/subuid is unchanged");
});

/** A directory holding only the given programs (symlinks), for a PATH without the others. */
function pathWith(progs: string[]): string {
  const dir = tempDir('rk-first-path-');
  for (const p of progs) {
    const found = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'].map((d) => join(d, p)).find((f) => existsSync(f));
    if (!found) throw new Error(`${p} not installed`);
    run(['ln', '-s', found, join(dir, p)]);
  }
  return dir;
}

t.test('newuidmap missing: the package to install', async (t) => {
  const dir = pathWith(['node', 'newgidmap', 'true']);
  const env = { PATH: `${binDir}:${dir}` };
  for (const [argv, prefix] of [
    [['rootlesskit', 'true'], '[rootlesskit:parent] error: '],
    [['rk-unshare', '--user', '--map-auto', '--', 'true'], 'rk-unshare: error: '],
  ] as const) {
    const r = run([...argv], { env });
    t.equal(r.code, 1, argv[0]);
    t.equal(oneError(t, r, argv[0]), `${prefix}newuidmap not found (Debian package "uidmap"): sudo apt-get install uidmap`);
  }
  // what installing the package does: newuidmap on PATH
  run(['ln', '-s', '/usr/bin/newuidmap', join(dir, 'newuidmap')]);
  const ok = run(['rootlesskit', 'true'], { env });
  t.equal(ok.code, 0, `with newuidmap on PATH it runs (${ok.stderr.trim()})`);
});

t.test('a network driver\'s program missing: the Debian package to install', async (t) => {
  const dir = pathWith(['node', 'newuidmap', 'newgidmap', 'true']);
  const cases: Array<[string, string]> = [
    ['slirp4netns', 'slirp4netns not found: sudo apt-get install slirp4netns (or pass --slirp4netns-binary=PATH)'],
    ['pasta', 'pasta not found: sudo apt-get install passt (or pass --pasta-binary=PATH)'],
    ['vdeplug_slirp', 'vde_plug not found: sudo apt-get install vde2 (or pass --vde-plug-binary=PATH)'],
  ];
  for (const [net, msg] of cases) {
    const r = run(['rootlesskit', `--net=${net}`, '--disable-host-loopback', 'true'], { env: { PATH: `${binDir}:${dir}` } });
    t.equal(r.code, 1, net);
    t.equal(oneError(t, r, net), `[rootlesskit:parent] error: ${msg}`, net);
  }
});

/** A tmpfs on /dev/net (this namespace only), with a tun node of the given mode or none. */
const tunSetup = (mode?: string) => `mount -t tmpfs -o mode=755 tmpfs /dev/net || exit 1${mode ? `; mknod -m ${mode} /dev/net/tun c 10 200 || exit 1` : ''}`;

t.test('/dev/net/tun not openable: the mode to set, for every driver that makes a tap', { skip: needsRoot }, async (t) => {
  const drivers = ['builtin', 'slirp4netns', 'pasta', 'vdeplug_slirp', 'gvisor-tap-vsock'];
  const msg = `/dev/net/tun (mode 0600) cannot be opened by ${run(['id', '-un']).stdout.trim()} (EACCES): sudo chmod 0666 /dev/net/tun`;
  const dir = tempDir('rk-first-tun-');
  const first = privately(tunSetup('0600'), [
    ...drivers.map((d) => ({ name: d, argv: ['rootlesskit', `--net=${d}`, '--disable-host-loopback', '--state-dir', `${dir}/s-${d}`, 'true'] })),
    {
      name: 'rk-net',
      argv: ['sh', '-c', `rk-unshare --user --map-root --net --state-dir ${dir}/rn -- sleep 30 2>/dev/null & until [ -s ${dir}/rn/child_pid ]; do sleep 0.05; done; rk-net --net=builtin --state-dir ${dir}/rn; echo "rk-net exit $?"; kill $!; wait`],
    },
  ]);
  for (const d of drivers) {
    t.equal(first[d]!.code, 1, d);
    t.equal(oneError(t, first[d]!, d), `[rootlesskit:parent] error: ${msg}`, d);
    t.notOk(existsSync(`${dir}/s-${d}`), `${d}: no state dir left`);
  }
  t.match(first['rk-net']!.stdout, 'rk-net exit 1');
  t.equal(oneError(t, first['rk-net']!, 'rk-net'), `rk-net: error: ${msg}`);

  const fixed = privately(tunSetup('0600'), [
    { name: 'fix', argv: fixOf(msg, /: (sudo chmod 0666 \/dev\/net\/tun)$/), as: 'root' },
    { name: 'kit', argv: ['rootlesskit', '--net=builtin', '--disable-host-loopback', 'ip', '-4', '-o', 'addr', 'show', 'tap0'] },
  ]);
  t.equal(fixed.fix!.code, 0);
  t.equal(fixed.kit!.code, 0, `after the chmod it runs (${fixed.kit!.stderr.trim()})`);
  t.match(fixed.kit!.stdout, /inet 10\.0\.2\.100\/24/);
});

t.test('/dev/net/tun missing: the mknod command', { skip: needsRoot }, async (t) => {
  const first = privately(tunSetup(), [{ name: 'kit', argv: ['rootlesskit', '--net=slirp4netns', '--disable-host-loopback', 'true'] }]);
  t.equal(first.kit!.code, 1);
  const line = oneError(t, first.kit!, 'rootlesskit');
  t.equal(line, '[rootlesskit:parent] error: /dev/net/tun does not exist: sudo mknod -m 0666 /dev/net/tun c 10 200');
  const fixed = privately(tunSetup(), [
    { name: 'fix', argv: fixOf(line, /: (sudo mknod -m 0666 \/dev\/net\/tun c 10 200)$/), as: 'root' },
    { name: 'kit', argv: ['rootlesskit', '--net=slirp4netns', '--disable-host-loopback', 'ip', '-4', '-o', 'addr', 'show', 'tap0'] },
  ]);
  t.equal(fixed.fix!.code, 0);
  t.equal(fixed.kit!.code, 0, `after the mknod it runs (${fixed.kit!.stderr.trim()})`);
  t.match(fixed.kit!.stdout, /inet 10\.0\.2\.100\/24/);
});

/**
 * Wraps a script so that it runs in a user namespace of its own, made by
 * root, that maps root and the test user to themselves: root in it may set its
 * own user.max_user_namespaces, which limits only namespaces made inside it.
 * The script refuses to run if it is still in the host's user namespace.
 */
function inOwnUserns(script: string): string[] {
  const hostNs = readlinkSync('/proc/self/ns/user');
  const dir = mkdtempSync(join(tmpdir(), 'rk-first-userns-'));
  const inner = `[ "$(readlink /proc/self/ns/user)" != ${q(hostNs)} ] || { echo "not in a user namespace of our own" >&2; exit 99; }\n${script}`;
  const outer = [
    `mkfifo ${dir}/go`,
    `unshare -U bash -c 'read -r _ < "$0" || exit 1; exec bash -c "$1"' ${dir}/go ${q(inner)} &`,
    'pid=$!',
    // wait (bounded) until unshare(2) is done, then map the test user to itself
    `for i in $(seq 500); do [ "$(readlink /proc/$pid/ns/user)" != ${q(hostNs)} ] && break; sleep 0.01; done`,
    // root stays root in it (its capabilities survive exec), the test user stays itself
    // (a map is taken in one write(2): cat writes the whole of its small input at once)
    `cat <<< $'0 0 1\\n${testUid} ${testUid} 1' > /proc/$pid/uid_map && cat <<< $'0 0 1\\n${testGid} ${testGid} 1' > /proc/$pid/gid_map || { kill $pid; exit 1; }`,
    `timeout 10 sh -c 'echo go > "$0"' ${dir}/go || { kill $pid; exit 1; }`,
    'wait $pid; st=$?',
    `rm -rf ${dir}`,
    'exit $st',
  ].join('\n');
  return ['bash', '-c', outer];
}

t.test('user namespaces disabled (user.max_user_namespaces=0): the sysctl command, and after it a namespace is made', { skip: needsRoot }, async (t) => {
  const FIX = ['sysctl', '-w', 'user.max_user_namespaces=28633'];
  const r = privately('echo 0 > /proc/sys/user/max_user_namespaces || exit 1', [
    { name: 'kit', argv: ['rootlesskit', 'true'] },
    { name: 'unshare', argv: ['rk-unshare', '--user', '--map-root', '--', 'true'] },
    { name: 'fix', argv: FIX, as: 'root' },
    { name: 'after', argv: ['rk-unshare', '--user', '--map-root', '--', 'id', '-u'] },
  ], { wrap: inOwnUserns });
  const msg = 'user namespaces are disabled (user.max_user_namespaces=0): sudo sysctl -w user.max_user_namespaces=28633';
  t.equal(r.kit!.code, 1);
  t.equal(oneError(t, r.kit!, 'rootlesskit'), `[rootlesskit:parent] error: ${msg}`);
  t.equal(r.unshare!.code, 1);
  t.equal(oneError(t, r.unshare!, 'rk-unshare'), `rk-unshare: error: ${msg}`);
  t.same(fixOf(msg, /: (sudo sysctl -w user\.max_user_namespaces=28633)$/), FIX, 'the printed command is the one run');
  t.equal(r.fix!.code, 0, r.fix!.stderr);
  t.equal(r.after!.code, 0, `after it, a user namespace is made (${r.after!.stderr.trim()})`);
  t.equal(r.after!.stdout, '0\n');
  t.not(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8').trim(), '0', "the host's limit is untouched");
});

t.test('a host port below 1024: the sysctl command, and after it the port is published', { skip: needsRoot }, async (t) => {
  // net.ipv4.ip_unprivileged_port_start belongs to a network namespace: the test lowers it in one of its own
  const wrap = (script: string) => ['unshare', '-n', 'bash', '-c', `ip link set lo up || exit 1\n${script}`];
  const kit = ['rootlesskit', '--net=builtin', '--disable-host-loopback', '--port-driver=builtin', '-p', '127.0.0.1:80:80/tcp', 'true'];
  const FIX = ['sysctl', '-w', 'net.ipv4.ip_unprivileged_port_start=80'];
  const r = privately('', [
    { name: 'kit', argv: kit },
    { name: 'portfwd', argv: ['rk-portfwd', '-p', '127.0.0.1:80:127.0.0.1:8080/tcp'] },
    { name: 'ctl', argv: ['rootlesskit', '--net=builtin', '--disable-host-loopback', '--port-driver=builtin', 'rootlessctl', 'add-ports', '127.0.0.1:80:80/tcp'] },
    { name: 'fix', argv: FIX, as: 'root' },
    { name: 'after', argv: kit },
  ], { wrap });
  const msg = 'cannot expose privileged port 80 (net.ipv4.ip_unprivileged_port_start is 1024): sudo sysctl -w net.ipv4.ip_unprivileged_port_start=80 (or choose a port >= 1024)';
  t.equal(r.kit!.code, 1);
  t.equal(oneError(t, r.kit!, 'rootlesskit -p'), `[rootlesskit:parent] error: cannot publish a port: ${msg}`);
  t.equal(r.portfwd!.code, 1);
  t.equal(oneError(t, r.portfwd!, 'rk-portfwd'), `rk-portfwd: error: ${msg}`);
  t.equal(r.ctl!.code, 1);
  t.same(errors(r.ctl!), [
    `rootlessctl: error: ${msg}`,
    '[rootlesskit:child ] error: command [rootlessctl add-ports 127.0.0.1:80:80/tcp] exited: exit status 1',
    '[rootlesskit:parent] error: child exited: exit status 1',
  ], "the API's answer, through rootlessctl; then rootlesskit reports CMD's exit status as upstream does");
  t.same(fixOf(msg, /: (sudo sysctl -w net\.ipv4\.ip_unprivileged_port_start=80) \(/), FIX, 'the printed command is the one run');
  t.equal(r.fix!.code, 0, r.fix!.stderr);
  t.equal(r.after!.code, 0, `after it, port 80 is published (${r.after!.stderr.trim()})`);
});
