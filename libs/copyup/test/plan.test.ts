// The copy-up plan for a directory tree made here: which steps, in which
// order, with which targets; and the refusals a user can meet.
import t, { type Test } from 'tap';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, type PlanStep } from '@rk/native';
import { copyUpPlan, propagationSteps, validateCopyUp } from '../src/index.js';

const { MS_PRIVATE, MS_REC, MS_SHARED, MS_SLAVE } = constants;

function tree(t: Test): { root: string; dir: string } {
  const root = mkdtempSync(join(tmpdir(), 'rk-copyup-unit-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'etc');
  mkdirSync(dir, { mode: 0o750 });
  writeFileSync(join(dir, 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
  writeFileSync(join(dir, '.hidden'), '');
  mkdirSync(join(dir, 'ssh'));
  symlinkSync('/usr/share/zoneinfo/Etc/UTC', join(dir, 'localtime'));
  symlinkSync('passwd', join(dir, 'passwd-link'));
  return { root, dir };
}

t.test('propagationSteps: one mount on / with the propagation flags', async (t) => {
  const flags = (p: Parameters<typeof propagationSteps>[0]) => {
    const s = propagationSteps(p);
    t.equal(s.length, 1);
    t.match(s[0], { op: 'mount', target: '/' });
    t.notOk((s[0] as { fstype?: string }).fstype, 'no fstype: a propagation change');
    return (s[0] as { flags: number }).flags;
  };
  t.equal(flags('rprivate'), MS_REC | MS_PRIVATE);
  t.equal(flags('private'), MS_PRIVATE);
  t.equal(flags('rslave'), MS_REC | MS_SLAVE);
  t.equal(flags('slave'), MS_SLAVE);
  t.equal(flags('rshared'), MS_REC | MS_SHARED);
  t.equal(flags('shared'), MS_SHARED);
});

t.test('tmpfs+symlink plan: clone the tree, tmpfs, attach the clone at .ro…, one symlink per entry; nothing staged elsewhere', async (t) => {
  const { dir } = tree(t);
  const plan = copyUpPlan({ dirs: [dir], propagation: 'rprivate' });
  const s = plan.steps;

  t.same(s[0], { op: 'mount', source: 'none', target: '/', flags: MS_REC | MS_PRIVATE }, 'propagation first');
  t.same(s[1], { op: 'cloneTree', path: dir, slot: 0 }, 'a detached copy of D\'s mount tree (open_tree)');
  t.same(s[2], { op: 'mount', source: 'none', target: dir, fstype: 'tmpfs', data: 'mode=0750' }, 'tmpfs on D with D\'s mode');

  const roMk = s[3] as Extract<PlanStep, { op: 'mkdir' }>;
  t.equal(roMk.op, 'mkdir');
  t.match(roMk.path, new RegExp(`^${dir}/\\.ro[0-9a-f]{10}$`));
  const ro = roMk.path.slice(dir.length + 1);
  t.same(s[4], { op: 'moveTree', slot: 0, target: roMk.path }, 'the original tree is attached at D/.ro… (move_mount)');

  const links = s.slice(5);
  t.same(
    links,
    [
      { op: 'symlink', target: `${ro}/.hidden`, path: `${dir}/.hidden` },
      { op: 'symlink', target: '/usr/share/zoneinfo/Etc/UTC', path: `${dir}/localtime` },
      { op: 'symlink', target: `${ro}/passwd`, path: `${dir}/passwd` },
      { op: 'symlink', target: 'passwd', path: `${dir}/passwd-link` },
      { op: 'symlink', target: `${ro}/ssh`, path: `${dir}/ssh` },
    ],
    'relative links into .ro…; symlink entries keep their own target',
  );
  t.equal(s.length, 5 + 5);
  const outside = s.filter((x) => {
    const p = 'path' in x ? x.path : 'target' in x ? x.target : '/';
    return p !== '/' && p !== dir && !p.startsWith(`${dir}/`);
  });
  t.same(outside, [], 'every step acts on D or below it: no staging dir anywhere else');

  t.match(plan.describe(2), /tmpfs on .*\/etc/);
  t.match(plan.describe(4), /move_mount/);
  t.match(plan.describe(0), /^step 1\/10: .*rprivate/);
});

t.test('names are random and differ per run and per directory', async (t) => {
  const { dir, root } = tree(t);
  const other = join(root, 'run');
  mkdirSync(other);
  const ros = (p: ReturnType<typeof copyUpPlan>) => p.steps.filter((s): s is Extract<PlanStep, { op: 'mkdir' }> => s.op === 'mkdir').map((s) => s.path);
  const a = ros(copyUpPlan({ dirs: [dir, other] }));
  const b = ros(copyUpPlan({ dirs: [dir] }));
  t.equal(a.length, 2);
  t.not(a[0], b[0]);
  t.notOk(copyUpPlan({ dirs: [dir] }).steps.some((s) => s.op === 'mount' && s.target === '/'), 'no propagation step unless asked');
});

t.test('directories are copied up in the order given; duplicates once; paths cleaned', async (t) => {
  const { dir, root } = tree(t);
  const other = join(root, 'run');
  mkdirSync(other);
  const plan = copyUpPlan({ dirs: [`${other}/`, dir, `${dir}/../etc`] });
  const tmpfs = plan.steps.filter((s) => s.op === 'mount' && s.fstype === 'tmpfs').map((s) => (s as { target: string }).target);
  t.same(tmpfs, [other, dir]);
});

t.test('a symlink to a directory is copied up at its real path', async (t) => {
  const { dir, root } = tree(t);
  symlinkSync(dir, join(root, 'etc-link'));
  const plan = copyUpPlan({ dirs: [join(root, 'etc-link')] });
  t.ok(plan.steps.some((s) => s.op === 'mount' && s.fstype === 'tmpfs' && s.target === dir));
});

t.test('no dirs: only the propagation step', async (t) => {
  t.same(copyUpPlan({ dirs: [], propagation: 'rslave' }).steps, propagationSteps('rslave'));
  t.same(copyUpPlan({ dirs: [] }).steps, []);
  t.same(copyUpPlan({ dirs: [], propagation: 'rshared' }).steps, propagationSteps('rshared'), 'rshared alone is fine');
});

t.test('refusals: one line naming the fix, exit status 2', async (t) => {
  const { dir, root } = tree(t);
  const refuse = (opts: Parameters<typeof validateCopyUp>[0], re: RegExp, name: string) => {
    t.throws(() => validateCopyUp(opts), { name: 'RkError', exitCode: 2, message: re }, name);
    t.throws(() => copyUpPlan(opts), { name: 'RkError', message: re }, `${name} (copyUpPlan too)`);
  };
  refuse({ dirs: ['/'] }, /^--copy-up \/: the root directory cannot be copied up/, '/');
  refuse({ dirs: ['/..//.'] }, /^--copy-up \/\.\.\/\/\.: the root directory cannot be copied up/, '/ in disguise');
  refuse({ dirs: [join(root, 'nope')] }, /no such directory/, 'nonexistent');
  refuse({ dirs: [join(dir, 'passwd')] }, /not a directory/, 'a file');
  refuse({ dirs: ['etc'] }, /must be absolute \(e\.g\. --copy-up \/etc\)/, 'relative');
  refuse({ dirs: ['./etc'] }, /must be absolute/, 'relative ./');
  refuse({ dirs: [dir], propagation: 'rshared' }, /^--propagation=rshared cannot be used with --copy-up/, 'rshared');
  refuse({ dirs: [dir], propagation: 'shared' }, /^--propagation=shared cannot be used with --copy-up/, 'shared');
  refuse({ dirs: [dir], mode: 'bogus' as never }, /unknown --copy-up-mode bogus \(supported: tmpfs\+symlink, overlayfs, auto\)/, 'mode');
  for (const opts of [{ dirs: ['/'] }, { dirs: ['rel'] }]) {
    try {
      validateCopyUp(opts);
    } catch (e) {
      t.notMatch((e as Error).message, /\n/, 'one line');
    }
  }
});

t.test('validation does not touch the system', async (t) => {
  const { dir, root } = tree(t);
  const { readdirSync } = await import('node:fs');
  const before = readdirSync(root).sort();
  validateCopyUp({ dirs: [dir] });
  copyUpPlan({ dirs: [dir] });
  t.same(readdirSync(root).sort(), before, 'nothing created at plan time');
});

t.test('emptyDirs: an entry below a copied-up directory becomes an empty directory on its tmpfs (made when absent), the original not linked', async (t) => {
  const { dir } = tree(t);
  const plan = copyUpPlan({ dirs: [dir], emptyDirs: [join(dir, 'ssh'), join(dir, 'docker'), '/elsewhere/docker'] });
  const s = plan.steps;
  t.notOk(s.some((x) => x.op === 'symlink' && x.path === join(dir, 'ssh')), 'no symlink to the original ssh');
  t.same(s.filter((x) => x.op === 'mkdir').slice(1), [
    { op: 'mkdir', path: join(dir, 'ssh'), mode: 0o711 },
    { op: 'mkdir', path: join(dir, 'docker'), mode: 0o711 },
  ], 'one mkdir each, after the symlinks; paths under other directories ignored');
  t.equal(s[s.length - 1]!.op, 'mkdir');
});

t.test('overlayfs: clone, overlay, mounts below put back on top; auto: a refused overlay skips to tmpfs+symlink', async (t) => {
  const { dir } = tree(t);
  const mounts = [{ target: dir, fstype: 'ext4' }, { target: `${dir}/ssh`, fstype: 'tmpfs' }, { target: `${dir}/ssh/x`, fstype: 'tmpfs' }];
  const ov = copyUpPlan({ dirs: [dir], mode: 'overlayfs', mounts }).steps;
  t.same(ov, [
    { op: 'cloneTree', path: dir, slot: 0 },
    { op: 'overlay', slot: 0, target: dir, mode: 0o750 },
    { op: 'cloneFrom', from: 0, path: 'ssh', slot: 1 },
    { op: 'moveTree', slot: 1, target: `${dir}/ssh` },
  ], 'the outermost mount below is taken from the original tree (its own mounts come with it)');
  const auto = copyUpPlan({ dirs: [dir], mode: 'auto', mounts }).steps;
  const sym = copyUpPlan({ dirs: [dir], mode: 'tmpfs+symlink' }).steps;
  t.match(auto[1], { op: 'overlay', elseSkip: 3 }, 'a refusal skips the put-back steps and the skip');
  t.same(auto[4], { op: 'skip', count: sym.length }, 'the overlay branch skips the alternative');
  t.same(auto.slice(5).map((s) => s.op), sym.map((s) => s.op), 'the alternative is tmpfs+symlink');
});
