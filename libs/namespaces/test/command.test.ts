// Finding the command to run, as a shell would (with its 127/126 statuses),
// and the small translations the start-up messages use.
import t, { type Test } from 'tap';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { constants } from '@rk/native';
import { appArmorHint, cgroup2Mount, cloneFlags, explainUsernsFailure, envList, errnoName, evacuateCgroup2, exitReason, signalWords, namespaceNames, ownCgroup2Path, resolveCommand, signalName } from '../src/index.js';

function binDir(t: Test, scripts: Record<string, number>): string {
  const d = mkdtempSync(join(tmpdir(), 'rk-ns-cmd-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  for (const [name, mode] of Object.entries(scripts)) {
    writeFileSync(join(d, name), '#!/bin/sh\nexit 0\n');
    chmodSync(join(d, name), mode);
  }
  return d;
}

t.test('resolveCommand: a bare name is searched on PATH, in order', async (t) => {
  const a = binDir(t, { tool: 0o755, other: 0o755 });
  const b = binDir(t, { tool: 0o755 });
  t.equal(resolveCommand('tool', `${a}:${b}`), join(a, 'tool'));
  t.equal(resolveCommand('tool', `/nonexistent:${b}:${a}`), join(b, 'tool'));
  t.equal(resolveCommand('other', `${b}:${a}`), join(a, 'other'));
});

t.test('resolveCommand: non-executables and directories on PATH are skipped', async (t) => {
  const a = binDir(t, { tool: 0o644 });
  mkdirSync(join(a, 'dir'));
  const b = binDir(t, { tool: 0o755, dir: 0o755 });
  t.equal(resolveCommand('tool', `${a}:${b}`), join(b, 'tool'));
  t.equal(resolveCommand('dir', `${a}:${b}`), join(b, 'dir'));
});

t.test('resolveCommand: the default PATH is the process\'s own', async (t) => {
  const sh = resolveCommand('sh');
  t.match(sh, /\/sh$/);
  t.equal(readFileSync(sh).subarray(0, 4).toString('latin1'), '\x7fELF', 'a real program');
});

t.test('resolveCommand: a name with a slash is taken as is, if it can run', async (t) => {
  const a = binDir(t, { tool: 0o755 });
  t.equal(resolveCommand(join(a, 'tool'), '/nonexistent'), join(a, 'tool'));
  t.equal(resolveCommand('/bin/sh', ''), '/bin/sh');
});

t.test('not found: 127, naming the PATH searched', async (t) => {
  t.throws(() => resolveCommand('no-such-cmd-rk', '/nonexistent:/also-not'), {
    name: 'RkError',
    exitCode: 127,
    message: 'no-such-cmd-rk: command not found (searched PATH=/nonexistent:/also-not)',
  });
  t.throws(() => resolveCommand('/nonexistent/cmd'), { exitCode: 127, message: '/nonexistent/cmd: no such file or directory' });
  t.throws(() => resolveCommand(''), { exitCode: 127, message: 'no command given' });
  const a = binDir(t, { tool: 0o644 });
  t.throws(() => resolveCommand('tool', a), { exitCode: 127, message: /^tool: command not found/ }, 'only a non-executable on PATH: not found, as in sh');
});

t.test('cannot run: 126, with the fix', async (t) => {
  const a = binDir(t, { tool: 0o644 });
  t.throws(() => resolveCommand(join(a, 'tool')), {
    name: 'RkError',
    exitCode: 126,
    message: `${join(a, 'tool')}: permission denied (chmod +x ${join(a, 'tool')})`,
  });
  t.throws(() => resolveCommand(a), { exitCode: 126, message: `${a}: is a directory` });
  t.throws(() => resolveCommand('/tmp/'), { exitCode: 126, message: '/tmp/: is a directory' });
});

t.test('cloneFlags: one CLONE_NEW* flag per namespace', async (t) => {
  t.equal(cloneFlags({}), 0);
  t.equal(cloneFlags({ user: false, mount: false }), 0);
  t.equal(cloneFlags({ user: true }), constants.CLONE_NEWUSER);
  t.equal(cloneFlags({ mount: true }), constants.CLONE_NEWNS);
  t.equal(cloneFlags({ net: true }), constants.CLONE_NEWNET);
  t.equal(cloneFlags({ pid: true }), constants.CLONE_NEWPID);
  t.equal(cloneFlags({ uts: true }), constants.CLONE_NEWUTS);
  t.equal(cloneFlags({ ipc: true }), constants.CLONE_NEWIPC);
  t.equal(cloneFlags({ cgroup: true }), constants.CLONE_NEWCGROUP);
  t.equal(
    cloneFlags({ user: true, mount: true, net: true, pid: true, uts: true, ipc: true, cgroup: true }),
    0x10000000 | 0x00020000 | 0x40000000 | 0x20000000 | 0x04000000 | 0x08000000 | 0x02000000,
    'the kernel\'s values, all together',
  );
  t.equal(namespaceNames({ user: true, mount: true, net: false, pid: true }), 'user, mount, pid');
  t.equal(namespaceNames({}), '');
});

t.test('envList: KEY=value strings, unset values skipped', async (t) => {
  t.same(envList({ A: '1', B: undefined, C: '', D: 'x=y z' }), ['A=1', 'C=', 'D=x=y z']);
  t.same(envList({}), []);
  t.ok(envList(process.env).includes(`PATH=${process.env.PATH}`));
});

t.test('errnoName and signalName: the names Node prints', async (t) => {
  t.equal(errnoName(1), 'EPERM');
  t.equal(errnoName(2), 'ENOENT');
  t.equal(errnoName(-13), 'EACCES', 'negative (Node-style) errno values too');
  t.equal(errnoName(28), 'ENOSPC');
  t.equal(errnoName(11), 'EAGAIN', 'the first of two names');
  t.equal(errnoName(99999), 'errno 99999');
  t.equal(signalName(9), 'SIGKILL');
  t.equal(signalName(10), 'SIGUSR1');
  t.equal(signalName(15), 'SIGTERM');
  t.equal(signalName(6), 'SIGABRT');
  t.equal(signalName(200), 'signal 200');
});

const MOUNTINFO_V2 = `22 28 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
28 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
31 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;
const MOUNTINFO_V1 = `22 28 0:21 / /sys rw - sysfs sysfs rw
35 31 0:30 / /sys/fs/cgroup/memory rw,nosuid shared:15 - cgroup cgroup rw,memory
`;

t.test('cgroup2Mount: the cgroup2 mount point in mountinfo', async (t) => {
  t.equal(cgroup2Mount(MOUNTINFO_V2), '/sys/fs/cgroup');
  t.equal(cgroup2Mount(MOUNTINFO_V1), undefined, 'cgroup v1 only');
  t.equal(cgroup2Mount(''), undefined);
  t.equal(
    cgroup2Mount(`${MOUNTINFO_V1}40 31 0:35 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n`),
    '/sys/fs/cgroup/unified',
    'hybrid: the unified hierarchy',
  );
  t.equal(cgroup2Mount('50 1 0:40 / /mnt/x rw - tmpfs cgroup2 rw\n'), undefined, 'the fstype, not the source, decides');
  const own = cgroup2Mount();
  t.ok(own === undefined || own.startsWith('/'), 'this machine\'s answer is a path or nothing');
});

t.test('ownCgroup2Path: the 0:: line of /proc/self/cgroup', async (t) => {
  t.equal(ownCgroup2Path('0::/user.slice/user-1000.slice/session-2.scope\n'), '/user.slice/user-1000.slice/session-2.scope');
  t.equal(ownCgroup2Path('12:memory:/user.slice\n1:name=systemd:/user.slice\n0::/init.scope\n'), '/init.scope');
  t.equal(ownCgroup2Path('0::/\n'), '/');
  t.equal(ownCgroup2Path('12:memory:/x\n'), undefined, 'cgroup v1 only');
  t.equal(ownCgroup2Path(''), undefined);
});

t.test('evacuateCgroup2: names that are not one cgroup are refused up front', async (t) => {
  for (const name of ['', '.', '..', 'a/b', '../x', 'x y', 'init\n', '/abs', 'a*']) {
    t.throws(
      () => evacuateCgroup2(name),
      { name: 'RkError', exitCode: 1, message: `--evacuate-cgroup2: ${JSON.stringify(name).replace(/\\n/, '\n')} is not a valid cgroup name (letters, digits, "_", "-", ".")` },
      JSON.stringify(name),
    );
  }
});

function sysctl(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

t.test('explainUsernsFailure: one line naming the sysctl to change, for this machine', async (t) => {
  const clone = sysctl('/proc/sys/kernel/unprivileged_userns_clone');
  const max = sysctl('/proc/sys/user/max_user_namespaces');
  const apparmor = sysctl('/proc/sys/kernel/apparmor_restrict_unprivileged_userns');
  for (const code of ['EPERM', 'ENOSPC', 'EACCES', 'EUSERS']) {
    const msg = explainUsernsFailure(code);
    t.notMatch(msg, /\n/, `${code}: one line`);
    t.match(msg, /(kernel|user)\.[a-z_]+/, `${code}: names a sysctl`);
  }
  if (clone === '0') t.match(explainUsernsFailure('EPERM'), /^unprivileged user namespaces are disabled \(kernel.unprivileged_userns_clone=0\): sudo sysctl -w kernel.unprivileged_userns_clone=1$/);
  else if (max === '0') t.match(explainUsernsFailure('EPERM'), /user.max_user_namespaces=0/);
  else {
    t.equal(
      explainUsernsFailure('ENOSPC'),
      `too many user namespaces (the limit user.max_user_namespaces=${max ?? '?'} is reached): sudo sysctl -w user.max_user_namespaces=${Math.max(Number(max) * 2, 28633)}`,
    );
    if (apparmor === '1') t.match(explainUsernsFailure('EPERM'), /^AppArmor restricts unprivileged user namespaces/);
    else t.equal(explainUsernsFailure('EPERM'), 'cannot create a user namespace (EPERM): check kernel.unprivileged_userns_clone, user.max_user_namespaces and kernel.apparmor_restrict_unprivileged_userns');
  }
  t.equal(appArmorHint() === '', apparmor !== '1', 'the AppArmor hint only where AppArmor restricts');
});

t.test('explainUsernsFailure: each sysctl that can forbid user namespaces, and its command (a fake /proc/sys)', async (t) => {
  const fake = (files: Record<string, string>) => {
    const d = mkdtempSync(join(tmpdir(), 'rk-sysctl-'));
    t.teardown(() => rmSync(d, { recursive: true, force: true }));
    for (const [name, v] of Object.entries(files)) {
      mkdirSync(join(d, dirname(name)), { recursive: true });
      writeFileSync(join(d, name), `${v}\n`);
    }
    return d;
  };
  const cases: Array<[Record<string, string>, string, string]> = [
    [{ 'kernel/unprivileged_userns_clone': '0', 'user/max_user_namespaces': '100' }, 'EPERM', 'unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone=0): sudo sysctl -w kernel.unprivileged_userns_clone=1'],
    [{ 'user/max_user_namespaces': '0' }, 'ENOSPC', 'user namespaces are disabled (user.max_user_namespaces=0): sudo sysctl -w user.max_user_namespaces=28633'],
    [{ 'user/max_user_namespaces': '50000' }, 'ENOSPC', 'too many user namespaces (the limit user.max_user_namespaces=50000 is reached): sudo sysctl -w user.max_user_namespaces=100000'],
    [{ 'user/max_user_namespaces': '100', 'kernel/apparmor_restrict_unprivileged_userns': '1' }, 'EPERM', 'AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1): sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0'],
    [{ 'user/max_user_namespaces': '100', 'kernel/apparmor_restrict_unprivileged_userns': '0' }, 'EPERM', 'cannot create a user namespace (EPERM): check kernel.unprivileged_userns_clone, user.max_user_namespaces and kernel.apparmor_restrict_unprivileged_userns'],
  ];
  for (const [files, code, msg] of cases) t.equal(explainUsernsFailure(code, fake(files)), msg, JSON.stringify(files));
  t.equal(appArmorHint(fake({ 'kernel/apparmor_restrict_unprivileged_userns': '1' })), ' (AppArmor restricts unprivileged user namespaces: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0)');
  t.equal(appArmorHint(fake({ 'kernel/apparmor_restrict_unprivileged_userns': '0' })), '');
});

t.test('exitReason and signalWords: upstream (Go) words for exit statuses and signals', async (t) => {
  t.equal(exitReason({ code: 42, signal: null }), 'exit status 42');
  t.equal(exitReason({ code: null, signal: 'SIGUSR1' }), 'signal: user defined signal 1');
  t.equal(exitReason({ code: null, signal: 'SIGKILL' }), 'signal: killed');
  t.equal(exitReason({ code: null, signal: 'SIGTERM' }), 'signal: terminated');
  t.equal(signalWords('SIGSEGV'), 'segmentation fault');
  t.equal(signalWords('SIGHUP'), 'hangup');
  t.equal(signalWords('SIGINT'), 'interrupt');
  t.equal(signalWords('signal 34'), 'signal 34', 'a signal without words as it is');
});
