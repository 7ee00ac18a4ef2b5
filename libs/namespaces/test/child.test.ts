// Child end to end: real commands started in (new) namespaces, with the exit
// status, gate, mount plan and start-up errors a user of rk-unshare and
// rootlesskit sees. Runs as root in CI; as an ordinary user the namespace
// tests use a user namespace as well (or are skipped when there is none).
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { constants, type PlanStep } from '@rk/native';
import { Child, procPlan, sysfsPlan, type NamespaceSet, type StartOptions } from '../src/index.js';

const isRoot = process.geteuid!() === 0;
const haveUserns = spawnSync('unshare', ['--user', 'true']).status === 0;
/** Namespaces beyond the user namespace need root, or a user namespace of their own. */
const canUnshare = isRoot || haveUserns;
const needNs = canUnshare ? false : 'needs root or unprivileged user namespaces';
const withUser = (ns: NamespaceSet): NamespaceSet => (isRoot ? ns : { user: true, ...ns });
/** First step of every mount plan here: nothing mounted in the child propagates back. */
const PRIVATE: PlanStep = { op: 'mount', source: 'none', target: '/', flags: constants.MS_REC | constants.MS_PRIVATE };

function scratch(t: Test): string {
  const d = mkdtempSync(join(tmpdir(), 'rk-ns-child-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A Child that is killed (if still there) when the test ends. */
function start(t: Test, opts: Partial<StartOptions> & { argv: string[] }): Child {
  const c = new Child({ file: '/bin/sh', env: ['PATH=/usr/bin:/bin'], namespaces: {}, ...opts });
  // once reaped, its PID may belong to another process: kill only a live child
  let ended = false;
  void c.exited.then(() => (ended = true));
  t.teardown(() => (ended ? undefined : c.kill()));
  return c;
}

/** Runs `sh -c script args…` with its stdout in a file; returns the status and the output. */
async function output(t: Test, script: string | string[], opts: Partial<StartOptions> = {}) {
  const file = join(scratch(t), 'out');
  const fd = openSync(file, 'w');
  const null0 = openSync('/dev/null', 'r');
  const argv = ['sh', '-c', ...(typeof script === 'string' ? [script] : script)];
  const c = start(t, { argv, fds: [null0, fd, 2], ...opts });
  closeSync(fd);
  closeSync(null0);
  await c.started;
  const st = await c.exited;
  return { st, out: readFileSync(file, 'utf8'), child: c };
}

/** 'settled' if p settles within ms, else 'pending'. */
async function within(p: Promise<unknown>, ms: number): Promise<'settled' | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([
    p.then(
      () => 'settled' as const,
      () => 'settled' as const,
    ),
    new Promise<'pending'>((res) => (timer = setTimeout(() => res('pending'), ms))),
  ]);
  clearTimeout(timer);
  return r;
}

async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

t.test('the command\'s exit code', async (t) => {
  const c = start(t, { argv: ['sh', '-c', 'exit 3'] });
  t.ok(c.pid > 0);
  await t.resolves(c.started, 'started once exec\'d');
  t.same(await c.exited, { code: 3, signal: null });
  const ok = start(t, { argv: ['sh', '-c', 'exit 0'] });
  t.same(await ok.exited, { code: 0, signal: null });
});

t.test('argv, only the env given, and the fds laid out as asked', async (t) => {
  const { st, out } = await output(t, ['printf "%s|%s|%s|%s" "$0" "$1" "$FOO" "${HOME-unset}"', 'zero', 'one'], { env: ['FOO=bar baz'] });
  t.same(st, { code: 0, signal: null });
  t.equal(out, 'zero|one|bar baz|unset');
});

t.test('a command killed by a signal reports the signal\'s name', async (t) => {
  const c = start(t, { file: '/bin/sleep', argv: ['sleep', '30'] });
  await c.started;
  process.kill(c.pid, 'SIGTERM');
  t.same(await c.exited, { code: null, signal: 'SIGTERM' });
  const own = start(t, { argv: ['sh', '-c', 'kill -USR2 $$'] });
  t.same(await own.exited, { code: null, signal: 'SIGUSR2' });
  const k = start(t, { file: '/bin/sleep', argv: ['sleep', '30'] });
  await k.started;
  await k.kill();
  t.same(await k.exited, { code: null, signal: 'SIGKILL' }, 'kill(): SIGKILL, and waits for it');
});

t.test('the gate: nothing runs until release()', async (t) => {
  const marker = join(scratch(t), 'ran');
  const c = start(t, { argv: ['sh', '-c', 'echo yes > "$0"', marker], gate: true });
  t.equal(await within(c.started, 150), 'pending', 'not started while held');
  t.notOk(existsSync(marker), 'CMD has not run');
  t.equal(readFileSync(`/proc/${c.pid}/stat`, 'utf8').split(') ')[1]![0], 'S', 'the child waits, asleep');
  c.release();
  await c.started;
  t.same(await c.exited, { code: 0, signal: null });
  t.equal(readFileSync(marker, 'utf8'), 'yes\n');
  c.release();
  c.abort();
  t.pass('release() and abort() after the fact do nothing');
});

t.test('the gate: abort() ends the child without running the command', async (t) => {
  const marker = join(scratch(t), 'ran');
  const c = start(t, { argv: ['sh', '-c', 'echo yes > "$0"', marker], gate: true, plan: [{ op: 'mkdir', path: `${marker}.plan` }] });
  t.equal(await within(c.exited, 100), 'pending');
  c.abort();
  t.same(await c.exited, { code: 1, signal: null });
  t.notOk(existsSync(marker), 'CMD never ran');
  t.notOk(existsSync(`${marker}.plan`), 'nor the plan');
});

t.test('the gate: after abort(), started rejects; CMD never ran', async (t) => {
  const c = start(t, { argv: ['true'], gate: true });
  c.abort();
  await t.rejects(c.started, { name: 'RkError', message: /^true was not started/ });
  t.same(await c.exited, { code: 1, signal: null });
});

t.test('the gate: abort() works while another child is held too', async (t) => {
  const a = start(t, { argv: ['true'], gate: true });
  start(t, { argv: ['true'], gate: true });
  a.abort();
  t.equal(await within(a.exited, 2000), 'settled', 'the first child ends without waiting for the second (which must not hold its gate)');
});

t.test('the gate: abort() works while a reaper runs another command', { skip: needNs }, async (t) => {
  const a = start(t, { argv: ['true'], gate: true });
  const b = start(t, { file: '/bin/sleep', argv: ['sleep', '30'], namespaces: withUser({ pid: true }), reaper: true });
  await b.started;
  a.abort();
  t.equal(await within(a.exited, 2000), 'settled', 'the reaper (which never execs) holds no gate of ours');
});

t.test('the gate: kill() ends a held child', async (t) => {
  const marker = join(scratch(t), 'ran');
  const c = start(t, { argv: ['sh', '-c', 'echo yes > "$0"', marker], gate: true });
  await c.kill();
  const st = await c.exited;
  t.equal(st.code === 1 || st.signal === 'SIGKILL', true, `ended: ${JSON.stringify(st)}`);
  t.notOk(existsSync(marker));
});

t.test('the command runs in new namespaces', { skip: needNs }, async (t) => {
  const kinds = ['user', 'mnt', 'net', 'uts', 'ipc', 'cgroup', 'pid'];
  const { st, out } = await output(t, `echo $$; for n in ${kinds.join(' ')}; do readlink /proc/self/ns/$n; done`, {
    namespaces: { user: true, mount: true, net: true, uts: true, ipc: true, cgroup: true, pid: true },
    plan: [PRIVATE],
  });
  t.same(st, { code: 0, signal: null });
  const [pid, ...links] = out.trim().split('\n');
  t.equal(pid, '1', 'PID 1 of its own PID namespace');
  kinds.forEach((k, i) => t.not(links[i], readlinkSync(`/proc/self/ns/${k}`), `its own ${k} namespace`));
  const same = await output(t, 'readlink /proc/self/ns/uts /proc/self/ns/mnt');
  t.equal(same.out, `${readlinkSync('/proc/self/ns/uts')}\n${readlinkSync('/proc/self/ns/mnt')}\n`, 'none asked: ours');
});

t.test('the mount plan runs in the child\'s mount namespace before CMD', { skip: isRoot ? false : 'mounting tmpfs where the parent can see the dir needs root' }, async (t) => {
  const dir = join(scratch(t), 'mnt');
  mkdirSync(dir);
  const { st, out } = await output(t, ['echo x > "$0/inside" && ls "$0"', dir], {
    namespaces: { mount: true },
    plan: [PRIVATE, { op: 'mkdir', path: join(dir, 'made'), mode: 0o700 }, { op: 'mount', source: 'none', target: dir, fstype: 'tmpfs', data: 'mode=0755' }],
  });
  t.same(st, { code: 0, signal: null });
  t.equal(out, 'inside\n', 'CMD sees the tmpfs, not what is under it');
  t.same(readdirSync(dir), ['made'], 'the host sees the dir made before the mount, not the tmpfs');
});

t.test('a fresh /proc in a new PID namespace shows the command as PID 1', { skip: needNs }, async (t) => {
  const { st, out } = await output(t, 'read pid rest < /proc/self/stat; echo $pid; ls /proc | grep -c "^[0-9]"', {
    namespaces: withUser({ mount: true, pid: true }),
    plan: [PRIVATE, ...procPlan()],
  });
  t.same(st, { code: 0, signal: null });
  const [pid, count] = out.trim().split('\n');
  t.equal(pid, '1');
  t.ok(Number(count) <= 3, `only the namespace's processes in /proc (${count})`);
  t.equal(readFileSync('/proc/self/stat', 'utf8').split(' ')[0], String(process.pid), 'ours is untouched');
});

t.test('a fresh /sys for a new network namespace keeps /sys/fs/cgroup', { skip: needNs }, async (t) => {
  const tmpRoot = scratch(t);
  const sysfs = sysfsPlan(tmpRoot);
  t.equal(sysfs.describe.length, sysfs.steps.length, 'one description per step');
  const plan = [PRIVATE, ...sysfs.steps];
  const { st, out } = await output(t, 'ls /sys/class/net; ls /sys/fs/cgroup | wc -l', {
    namespaces: withUser({ mount: true, net: true }),
    plan,
    describeStep: (i) => (i === 0 ? 'propagation' : sysfs.describe[i - 1]!),
  });
  t.same(st, { code: 0, signal: null });
  const lines = out.trim().split('\n');
  t.same(lines.slice(0, -1), ['lo'], 'only the new namespace\'s loopback');
  if (existsSync('/sys/fs/cgroup')) t.equal(Number(lines.at(-1)), readdirSync('/sys/fs/cgroup').length, 'the cgroup mount is still there');
  t.same(readdirSync(tmpRoot), [], 'the temporary dir is gone again');
});

t.test('a failing plan step: started rejects naming the step; the child exits 1', { skip: needNs }, async (t) => {
  const target = join(scratch(t), 'nonexistent', 'target');
  const marker = join(scratch(t), 'ran');
  const plan: PlanStep[] = [PRIVATE, { op: 'mount', source: 'none', target, fstype: 'tmpfs' }];
  const c = start(t, {
    argv: ['sh', '-c', 'echo yes > "$0"', marker],
    namespaces: withUser({ mount: true }),
    plan,
    describeStep: (i) => `mount a tmpfs on ${(plan[i] as { target: string }).target}`,
  });
  await t.rejects(c.started, { name: 'RkError', exitCode: 1, message: `mount a tmpfs on ${target}: ENOENT` });
  t.same(await c.exited, { code: 1, signal: null });
  t.notOk(existsSync(marker), 'CMD did not run');

  const plain = start(t, { argv: ['true'], namespaces: withUser({ mount: true }), plan });
  await t.rejects(plain.started, { message: 'step 1 of the mount plan: ENOENT' }, 'without describeStep');

  const opt = start(t, { file: '/bin/true', argv: ['true'], namespaces: withUser({ mount: true }), plan: [PRIVATE, { ...plan[1]!, optional: true } as PlanStep] });
  await t.resolves(opt.started, 'an optional step may fail');
  t.same(await opt.exited, { code: 0, signal: null });
});

t.test('exec failures: 127 not found, 126 cannot run', async (t) => {
  const d = scratch(t);
  const c = start(t, { file: join(d, 'missing'), argv: ['missing-cmd'] });
  await t.rejects(c.started, { name: 'RkError', exitCode: 127, message: 'missing-cmd: command not found' });
  t.same(await c.exited, { code: 127, signal: null });

  writeFileSync(join(d, 'noexec'), '#!/bin/sh\n');
  chmodSync(join(d, 'noexec'), 0o644);
  const n = start(t, { file: join(d, 'noexec'), argv: ['noexec'] });
  await t.rejects(n.started, { exitCode: 126, message: 'noexec: permission denied' });

  const dirExec = start(t, { file: d, argv: ['a-dir'] });
  await t.rejects(dirExec.started, { exitCode: 126, message: 'a-dir: permission denied' });

  const fds = start(t, { file: '/bin/true', argv: ['true'], fds: [0, 1, 2, 999] });
  await t.rejects(fds.started, { exitCode: 1, message: 'cannot set up the command\'s file descriptors: EBADF' }, 'a bad fd to pass on');
  t.same(await fds.exited, { code: 1, signal: null });

  writeFileSync(join(d, 'junk'), Buffer.from([0, 1, 2, 3, 0xff, 0xfe]));
  chmodSync(join(d, 'junk'), 0o755);
  const j = start(t, { file: join(d, 'junk'), argv: ['junk'] });
  await t.rejects(j.started, { exitCode: 126, message: `cannot execute ${join(d, 'junk')}: ENOEXEC` });
});

t.test('the reaper: CMD\'s own status, and signals passed on to it', { skip: needNs }, async (t) => {
  const ns = withUser({ pid: true });
  const five = start(t, { argv: ['sh', '-c', 'exit 5'], namespaces: ns, reaper: true });
  await five.started;
  t.same(await five.exited, { code: 5, signal: null });
  const killed = start(t, { argv: ['sh', '-c', 'kill -9 $$'], namespaces: ns, reaper: true });
  t.same(await killed.exited, { code: null, signal: 'SIGKILL' });
  const sleeper = start(t, { file: '/bin/sleep', argv: ['sleep', '30'], namespaces: ns, reaper: true });
  await sleeper.started;
  process.kill(sleeper.pid, 'SIGTERM');
  t.same(await sleeper.exited, { code: null, signal: 'SIGTERM' }, 'SIGTERM to the reaper ends CMD with it');
  const missing = start(t, { file: '/nonexistent/cmd', argv: ['nope'], namespaces: ns, reaper: true });
  await t.rejects(missing.started, { exitCode: 127, message: 'nope: command not found' });
});

t.test('LISTEN_PID is filled with CMD\'s PID (socket activation)', async (t) => {
  const env = ['LISTEN_PID=', 'LISTEN_FDS=1'];
  const plain = await output(t, 'echo "$LISTEN_PID $$ $LISTEN_FDS"', { env, fillListenPid: true });
  t.equal(plain.out, `${plain.child.pid} ${plain.child.pid} 1\n`);
  const untouched = await output(t, 'echo "[$LISTEN_PID]"', { env: ['LISTEN_PID=7'] });
  t.equal(untouched.out, '[7]\n', 'left alone unless asked');
  if (canUnshare) {
    const reaped = await output(t, 'echo "$LISTEN_PID $$"', { env, fillListenPid: true, namespaces: withUser({ pid: true }), reaper: true });
    t.equal(reaped.out, '2 2\n', 'under the reaper (PID 1), CMD is PID 2');
  }
});

t.test('the command dies with the process that started it', async (t) => {
  const dist = pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href;
  const r = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `import { Child } from ${JSON.stringify(dist)};
const c = new Child({ file: '/bin/sleep', argv: ['sleep', '30'], env: [], namespaces: {} });
await c.started;
process.stdout.write(String(c.pid));
process.exit(0);`],
    { encoding: 'utf8', timeout: 10000 },
  );
  const pid = Number(r.stdout);
  t.ok(pid > 0, `the child was ${pid}`);
  const gone = () => {
    try {
      return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
    } catch {
      return true;
    }
  };
  await waitFor(gone, `process ${pid} to die`);
  t.pass('killed (parent-death signal)');
});

t.test('cannot create namespaces: the error names the fix', async (t) => {
  const dist = pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href;
  const code = `import { Child } from ${JSON.stringify(dist)};
try { new Child({ file: '/bin/true', argv: ['true'], env: [], namespaces: { mount: true } }); process.stdout.write('started'); }
catch (e) { process.stdout.write(e.name + ' ' + e.exitCode + ': ' + e.message); }`;
  const setpriv = isRoot && spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'true']).status === 0;
  t.ok(!isRoot || setpriv, 'as root: drop to nobody with setpriv');
  const r = isRoot
    ? spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 10000 })
    : spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 10000 });
  t.equal(r.stdout, 'RkError 1: creating namespaces needs privileges: add --user (a user namespace) or run as root', r.stderr);
});
