// runPlan: the filesystem steps of a mount plan, run in this process. Errors
// look like Node's own (code, errno) and say which step failed (.step and a
// message that describes it). Mounts run in a mount namespace made here.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { constants, runPlan } from '../src/index.js';

const isRoot = process.geteuid!() === 0;
const haveUserns = spawnSync('unshare', ['--user', '--map-root-user', 'true']).status === 0;

function scratch(t: Test): string {
  const d = mkdtempSync(join(tmpdir(), 'rk-native-plan-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** The error runPlan throws for `plan`. */
function failure(plan: Parameters<typeof runPlan>[0]): NodeJS.ErrnoException & { step?: number } {
  try {
    runPlan(plan);
  } catch (e) {
    return e as NodeJS.ErrnoException & { step?: number };
  }
  throw new Error('runPlan did not fail');
}

t.test('mkdir, symlink, rmdir: run in order', async (t) => {
  const d = scratch(t);
  runPlan([
    { op: 'mkdir', path: join(d, 'a'), mode: 0o700 },
    { op: 'mkdir', path: join(d, 'a', 'b') },
    { op: 'symlink', target: 'a/b', path: join(d, 'link') },
    { op: 'mkdir', path: join(d, 'gone') },
    { op: 'rmdir', path: join(d, 'gone') },
  ]);
  t.equal(statSync(join(d, 'a')).mode & 0o777, 0o700, 'mode as asked');
  t.equal(statSync(join(d, 'a', 'b')).mode & 0o777, 0o755 & ~process.umask(), 'default mode 0755 (less the umask)');
  t.ok(lstatSync(join(d, 'link')).isSymbolicLink());
  t.equal(readlinkSync(join(d, 'link')), 'a/b', 'the target as given, not resolved');
  t.notOk(existsSync(join(d, 'gone')));
  runPlan([]);
  t.pass('an empty plan is fine');
});

t.test('a failing step: Node-style fields, the step\'s index and description', async (t) => {
  const d = scratch(t);
  const e = failure([{ op: 'mkdir', path: join(d, 'ok') }, { op: 'mkdir', path: d }]);
  t.type(e, Error);
  t.equal(e.message, `mkdir ${d}: EEXIST (File exists)`);
  t.equal(e.code, 'EEXIST');
  t.equal(e.errno, -17, 'negative, as Node has it');
  t.equal(e.syscall, `mkdir ${d}`);
  t.equal(e.step, 1);
  t.match(
    failure([{ op: 'rmdir', path: join(d, 'missing') }]),
    { code: 'ENOENT', errno: -2, step: 0, message: `rmdir ${join(d, 'missing')}: ENOENT (No such file or directory)` },
  );
  t.match(failure([{ op: 'symlink', target: 'x', path: join(d, 'ok') }]), { code: 'EEXIST', message: `symlink ${join(d, 'ok')} -> x: EEXIST (File exists)` });
  t.match(failure([{ op: 'umount', target: d }]), { code: isRoot ? 'EINVAL' : 'EPERM', message: new RegExp(`^umount ${d}: E`) }, 'not a mount point');
  t.match(failure([{ op: 'ifup', name: 'rk-nonexist0' }]), { code: 'ENODEV', message: 'bring up interface rk-nonexist0: ENODEV (No such device)' });
  t.match(
    failure([{ op: 'mount', source: 'none', target: join(d, 'nonexistent'), fstype: 'tmpfs' }]),
    { code: isRoot ? 'ENOENT' : /^E(NOENT|PERM)$/, message: new RegExp(`^mount tmpfs on ${d}/nonexistent: E`) },
  );
  t.match(failure([{ op: 'mount', source: '/src', target: join(d, 'nonexistent'), flags: constants.MS_BIND }]), { message: new RegExp(`^mount /src on ${d}/nonexistent: E`) }, 'a bind names its source');
});

t.test('the steps after a failure do not run', async (t) => {
  const d = scratch(t);
  const e = failure([
    { op: 'mkdir', path: join(d, 'one') },
    { op: 'mkdir', path: join(d, 'no', 'such') },
    { op: 'mkdir', path: join(d, 'three') },
  ]);
  t.equal(e.step, 1);
  t.equal(e.code, 'ENOENT');
  t.ok(existsSync(join(d, 'one')), 'the steps before it ran');
  t.notOk(existsSync(join(d, 'three')), 'the ones after it did not');
});

t.test('mkdir existOk, and optional steps', async (t) => {
  const d = scratch(t);
  mkdirSync(join(d, 'there'));
  runPlan([{ op: 'mkdir', path: join(d, 'there'), existOk: true }]);
  t.pass('existOk: an existing dir is fine');
  writeFileSync(join(d, 'file'), '');
  t.match(failure([{ op: 'mkdir', path: join(d, 'no', 'x'), existOk: true }]), { code: 'ENOENT' }, 'existOk excuses only EEXIST');
  runPlan([
    { op: 'rmdir', path: join(d, 'missing'), optional: true },
    { op: 'ifup', name: 'rk-nonexist0', optional: true },
    { op: 'mkdir', path: join(d, 'after') },
  ]);
  t.ok(existsSync(join(d, 'after')), 'optional failures are skipped, the plan goes on');
});

t.test('a step with an unknown op is refused before anything runs', async (t) => {
  const d = scratch(t);
  t.throws(() => runPlan([{ op: 'mkdir', path: join(d, 'x') }, { op: 'bogus' } as never]), { name: 'TypeError', message: 'unknown plan op: bogus' });
  t.notOk(existsSync(join(d, 'x')));
  t.throws(() => runPlan(undefined as never), 'not an array');
});

t.test('mounts, in a mount namespace of their own', { skip: isRoot || haveUserns ? false : 'needs root or user namespaces' }, async (t) => {
  const d = scratch(t);
  const dist = pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href;
  const code = `import { readdirSync, writeFileSync } from 'node:fs';
import { constants as c, runPlan } from ${JSON.stringify(dist)};
const d = ${JSON.stringify(d)};
runPlan([
  { op: 'mount', source: 'none', target: '/', flags: c.MS_REC | c.MS_PRIVATE },
  { op: 'mount', source: 'none', target: d, fstype: 'tmpfs', data: 'mode=0700' },
  { op: 'mkdir', path: d + '/in' },
  { op: 'mount', source: d + '/in', target: d + '/in', flags: c.MS_BIND },
  { op: 'umount', target: d + '/in', flags: c.MNT_DETACH },
]);
writeFileSync(d + '/f', '');
process.stdout.write(readdirSync(d).sort().join(','));`;
  const unshare = isRoot ? ['--mount'] : ['--user', '--map-root-user', '--mount'];
  const r = spawnSync('unshare', [...unshare, process.execPath, '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 10000 });
  t.equal(r.stderr, '');
  t.equal(r.stdout, 'f,in', 'the tmpfs, as the namespace sees it');
  t.same(readdirSync(d), [], 'nothing leaked to the host');
});

t.test('cloneTree + moveTree: a tree moved aside under a tmpfs, with no staging dir', { skip: isRoot || haveUserns ? false : 'needs root or user namespaces' }, async (t) => {
  const d = scratch(t);
  mkdirSync(join(d, 'dir'));
  writeFileSync(join(d, 'dir', 'orig'), 'x');
  const before = readdirSync(d).sort();
  const dist = pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href;
  const code = `import { readdirSync } from 'node:fs';
import { constants as c, runPlan } from ${JSON.stringify(dist)};
const d = ${JSON.stringify(d)} + '/dir';
runPlan([
  { op: 'mount', source: 'none', target: '/', flags: c.MS_REC | c.MS_PRIVATE },
  { op: 'cloneTree', path: d, slot: 3 },
  { op: 'mount', source: 'none', target: d, fstype: 'tmpfs' },
  { op: 'mkdir', path: d + '/.ro' },
  { op: 'moveTree', slot: 3, target: d + '/.ro' },
]);
let failed = '';
try { runPlan([{ op: 'moveTree', slot: 3, target: d }]); } catch (e) { failed = e.code; }
try { runPlan([{ op: 'cloneTree', path: d, slot: 8 }]); } catch (e) { failed += ',' + e.name; }
process.stdout.write(readdirSync(d).join(',') + ' ' + readdirSync(d + '/.ro').join(',') + ' ' + failed);`;
  const unshare = isRoot ? ['--mount'] : ['--user', '--map-root-user', '--mount'];
  const r = spawnSync('unshare', [...unshare, process.execPath, '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 10000 });
  t.equal(r.stderr, '');
  t.equal(r.stdout, '.ro orig EBADF,RangeError', 'the original under .ro; a used slot is empty; slots are 0..7');
  t.same(readdirSync(d).sort(), before, 'nothing created beside the dir');
  t.same(readdirSync(join(d, 'dir')), ['orig'], 'the host sees the dir unchanged');
});
