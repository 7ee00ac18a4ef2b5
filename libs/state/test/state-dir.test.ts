// The state dir a user points --state-dir at: created with its lock, refused
// while another process holds it, wiped of a killed run's files, child_pid
// as upstream writes it, and removed at exit.
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CHILD_PID_FILE, LOCK_FILE, LOCK_MARKER, StateDir, defaultParent, readChildPid, removeEmptyDir } from '../src/index.js';

const dist = pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href;
const isRoot = process.geteuid!() === 0;

function scratch(t: Test): string {
  const d = mkdtempSync(join(tmpdir(), 'rk-state-unit-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Sets (or unsets) environment variables for the rest of the test. */
function withEnv(t: Test, vars: Record<string, string | undefined>): void {
  const old = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (v: Record<string, string | undefined>) => {
    for (const [k, val] of Object.entries(v)) {
      if (val === undefined) delete process.env[k];
      else process.env[k] = val;
    }
  };
  set(vars);
  t.teardown(() => set(old));
}

/** Another process trying StateDir.open(dir): its error message, or "ok". */
function openElsewhere(dir: string): string {
  const code = `import { StateDir } from ${JSON.stringify(dist)};
try { StateDir.open(${JSON.stringify(dir)}, { owner: 'rk-other' }); process.stdout.write('ok'); }
catch (e) { process.stdout.write(e.name + ': ' + e.message); }`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 10000 });
  return r.stdout + r.stderr;
}

t.test('open: makes the dir (and its parents) with a lock file', async (t) => {
  const dir = join(scratch(t), 'a', 'b', 'state');
  const st = StateDir.open(dir);
  t.teardown(() => st.remove());
  t.equal(st.path, dir);
  t.equal(st.isTemp, false);
  t.same(readdirSync(dir), [LOCK_FILE]);
  t.equal(statSync(join(dir, LOCK_FILE)).mode & 0o777, 0o600, 'the lock is private');
  t.equal(st.file('api.sock'), join(dir, 'api.sock'));
});

t.test('open: a relative dir is made absolute', async (t) => {
  const base = scratch(t);
  const rel = relative(process.cwd(), join(base, 'rel'));
  const st = StateDir.open(rel);
  t.teardown(() => st.remove());
  t.equal(st.path, join(base, 'rel'));
  t.ok(existsSync(join(base, 'rel', LOCK_FILE)));
});

t.test('open: a dir held by another process is "in use", with the fix', async (t) => {
  const dir = join(scratch(t), 'held');
  const st = StateDir.open(dir, { owner: 'rk-unshare' });
  t.equal(openElsewhere(dir), `RkError: state dir ${dir} is in use by another rk-other (${dir}/lock is locked): stop it or choose another --state-dir`);
  st.remove();
  t.equal(openElsewhere(dir), 'ok', 'remove() drops the lock');
});

t.test('open: refused here while another process holds it; free once that process is gone', async (t) => {
  const dir = join(scratch(t), 'held');
  const holder = spawn(process.execPath, ['--input-type=module', '-e', `import { StateDir } from ${JSON.stringify(dist)};
StateDir.open(${JSON.stringify(dir)});
process.stdout.write('held\\n');
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));`], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => {
    holder.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    holder.stdout.on('data', (b: Buffer) => b.toString().includes('held') && resolve());
    holder.once('exit', () => reject(new Error('holder exited early')));
  });
  t.throws(() => StateDir.open(dir, { owner: 'rootlesskit' }), {
    name: 'RkError',
    message: `state dir ${dir} is in use by another rootlesskit (${dir}/lock is locked): stop it or choose another --state-dir`,
  });
  t.throws(() => StateDir.open(dir), { message: /in use by another rootlesskit/, exitCode: 1 }, 'owner defaults to rootlesskit');
  t.ok(existsSync(dir), 'a refused open leaves the dir alone');
  const exited = new Promise((r) => holder.once('exit', r));
  holder.stdin.end();
  await exited;
  const st = StateDir.open(dir);
  t.teardown(() => st.remove());
  t.pass('opened once the holder exited (its lock died with it)');
});

t.test('open: state files a killed run left are wiped; the lock and unrelated files stay', async (t) => {
  const dir = join(scratch(t), 'stale');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, LOCK_FILE), '');
  writeFileSync(join(dir, CHILD_PID_FILE), '99999', { mode: 0o444 });
  spawnSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', join(dir, 'api.sock')]);
  spawnSync('mkfifo', [join(dir, 'gate')]);
  writeFileSync(join(dir, '.child_pid.tmp'), '1');
  writeFileSync(join(dir, 'netns'), '');
  writeFileSync(join(dir, 'hosts'), '127.0.0.1 localhost\n');
  writeFileSync(join(dir, 'mine.txt'), 'keep me');
  const st = StateDir.open(dir);
  t.teardown(() => st.remove());
  t.same(readdirSync(dir).sort(), [LOCK_FILE, 'mine.txt']);
  t.equal(readFileSync(join(dir, LOCK_FILE), 'utf8'), LOCK_MARKER, 'our marker in the lock');
});

t.test('writeChildPid: decimal, no newline, read-only, replaced atomically', async (t) => {
  const st = StateDir.open(join(scratch(t), 's'));
  t.teardown(() => st.remove());
  st.writeChildPid(12345);
  const file = join(st.path, CHILD_PID_FILE);
  t.equal(readFileSync(file, 'utf8'), '12345');
  t.equal(statSync(file).mode & 0o777, 0o444);
  t.equal(readChildPid(st.path), 12345);
  st.writeChildPid(678);
  t.equal(readFileSync(file, 'utf8'), '678', 'a second write replaces it, read-only or not');
  t.same(readdirSync(st.path).sort(), [CHILD_PID_FILE, LOCK_FILE], 'no temporary file left behind');
});

t.test('remove: the state files and the dir are gone; twice is fine', async (t) => {
  const st = StateDir.open(join(scratch(t), 's'));
  st.writeChildPid(1);
  st.writeFile('hosts', 'x');
  st.remove();
  t.notOk(existsSync(st.path));
  st.remove();
  t.pass('a second remove() does not throw');
});

t.test('remove: a dir that holds files of its own keeps them (e.g. --state-dir=$HOME by mistake)', async (t) => {
  const dir = join(scratch(t), 'home');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'notes.txt'), 'mine');
  const st = StateDir.open(dir);
  st.writeChildPid(1);
  st.remove();
  t.same(readdirSync(dir), ['notes.txt']);
});

t.test('a path that cannot be made or is not a dir: one line, at once', async (t) => {
  const start = Date.now();
  t.throws(() => StateDir.open('/proc/rk-x'), {
    name: 'RkError',
    exitCode: 1,
    message: /^state dir \/proc\/rk-x cannot be created \(E[A-Z]+ at \/proc\/rk-x\): choose another --state-dir, e\.g\. under \$XDG_RUNTIME_DIR$/,
  });
  t.throws(() => StateDir.open('/proc/rk-x/deeper'), { message: /cannot be created/ });
  const file = join(scratch(t), 'file');
  writeFileSync(file, '');
  t.throws(() => StateDir.open(join(file, 'sub')), { message: `state dir ${join(file, 'sub')} is not a directory (${file} is not one): choose a directory for --state-dir` });
  t.throws(() => StateDir.open(file), { message: `state dir ${file} is not a directory: choose a directory for --state-dir (e.g. under $XDG_RUNTIME_DIR)` });
  t.throws(() => StateDir.open('/dev/null'), { message: /^state dir \/dev\/null is not a directory/ });
  t.ok(Date.now() - start < 2000, `no hang (${Date.now() - start} ms)`);
});

t.test('a dir others can write, or in a dir anyone can write without the sticky bit, is refused', async (t) => {
  const base = scratch(t);
  const open = join(base, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  t.throws(() => StateDir.open(open), { message: `state dir ${open} can be written by others (mode 0777): chmod go-w ${open}, or choose a dir only you can write` });
  const group = join(base, 'group');
  mkdirSync(group);
  chmodSync(group, 0o775);
  t.throws(() => StateDir.open(group), { message: /can be written by its group \(mode 0775\)/ });
  t.same(readdirSync(open), [], 'nothing created in a refused dir');
  const shared = join(base, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o777);
  t.throws(() => StateDir.open(join(shared, 's')), { message: /is in .*shared, which anyone can write \(mode 0777, no sticky bit\)/ });
  chmodSync(shared, 0o1777);
  const ok = StateDir.open(join(shared, 's2'));
  t.teardown(() => ok.remove());
  t.pass('a sticky world-writable parent (like /tmp) is fine');
});

t.test('files we did not create: a reserved name in a dir without a lock, a foreign lock, the wrong type', async (t) => {
  const base = scratch(t);
  const proj = join(base, 'proj');
  mkdirSync(proj);
  for (const f of ['hosts', 'resolv.conf', 'gate', 'notes']) writeFileSync(join(proj, f), `${f} of the user\n`);
  t.throws(() => StateDir.open(proj), { message: `state dir ${proj} holds gate, which rootlesskit did not create (no rootlesskit run left it there (the dir had no lock file)): choose an empty or new --state-dir, or move ${proj}/gate away` });
  t.same(readdirSync(proj).sort(), ['gate', 'hosts', 'notes', 'resolv.conf'], 'nothing removed, no lock left');
  for (const f of ['hosts', 'resolv.conf', 'gate', 'notes']) t.equal(readFileSync(join(proj, f), 'utf8'), `${f} of the user\n`);

  const dirPid = join(base, 'dirpid');
  mkdirSync(join(dirPid, CHILD_PID_FILE), { recursive: true });
  writeFileSync(join(dirPid, LOCK_FILE), '');
  t.throws(() => StateDir.open(dirPid), { message: /holds child_pid, which rootlesskit did not create \(it is a directory that no rootlesskit run leaves there\)/ });
  t.same(readdirSync(dirPid).sort(), [CHILD_PID_FILE, LOCK_FILE], 'the pre-existing lock stays, nothing else made');

  const foreignLock = join(base, 'foreign');
  mkdirSync(foreignLock);
  writeFileSync(join(foreignLock, LOCK_FILE), 'my own lock notes\n');
  t.throws(() => StateDir.open(foreignLock), { message: /lock is not a lock file of rootlesskit \(it holds other text\)/ });
  t.equal(readFileSync(join(foreignLock, LOCK_FILE), 'utf8'), 'my own lock notes\n');

  const linked = join(base, 'linked');
  mkdirSync(linked);
  writeFileSync(join(base, 'target'), 'x');
  symlinkSync(join(base, 'target'), join(linked, LOCK_FILE));
  t.throws(() => StateDir.open(linked), { message: /lock is not a lock file of rootlesskit \(a symlink\)/ });
  t.equal(readFileSync(join(base, 'target'), 'utf8'), 'x');
});

t.test('no dir: a fresh one under $XDG_RUNTIME_DIR when it is writable', async (t) => {
  const xdg = scratch(t);
  const tmp = scratch(t);
  withEnv(t, { XDG_RUNTIME_DIR: xdg, TMPDIR: tmp });
  const a = StateDir.open(undefined);
  const b = StateDir.open('');
  t.teardown(() => {
    a.remove();
    b.remove();
  });
  t.equal(dirname(a.path), xdg);
  t.match(basename(a.path), /^rootlesskit.{6}$/);
  t.equal(a.isTemp, true);
  t.equal(dirname(b.path), xdg, 'an empty --state-dir is no dir');
  t.not(a.path, b.path, 'each run its own');
  t.same(readdirSync(a.path), [LOCK_FILE]);
  a.remove();
  t.notOk(existsSync(a.path));
});

t.test('defaultParent: a relative, missing, foreign or shared $XDG_RUNTIME_DIR is ignored; $TMPDIR only when absolute', async (t) => {
  const own = scratch(t);
  chmodSync(own, 0o700);
  t.equal(defaultParent({ XDG_RUNTIME_DIR: own, TMPDIR: '/x' }), own);
  t.equal(defaultParent({ XDG_RUNTIME_DIR: '.', TMPDIR: '/var/tmp' }), '/var/tmp', 'relative');
  t.equal(defaultParent({ XDG_RUNTIME_DIR: join(own, 'missing') }), '/tmp', 'missing');
  t.equal(defaultParent({ XDG_RUNTIME_DIR: '/tmp' }), '/tmp', 'world-writable: falls back (to /tmp here too)');
  t.equal(defaultParent({ TMPDIR: 'rel' }), '/tmp', 'a relative TMPDIR');
});

t.test('no dir: $TMPDIR when $XDG_RUNTIME_DIR is unset or unusable', async (t) => {
  const tmp = scratch(t);
  withEnv(t, { XDG_RUNTIME_DIR: undefined, TMPDIR: tmp });
  const a = StateDir.open(undefined);
  t.teardown(() => a.remove());
  t.equal(dirname(a.path), tmp);
  process.env.XDG_RUNTIME_DIR = join(tmp, 'missing');
  const b = StateDir.open(undefined);
  t.teardown(() => b.remove());
  t.equal(dirname(b.path), tmp, 'a missing XDG_RUNTIME_DIR is skipped');
});

t.test('readChildPid: the PID, or an error that says what is wrong', async (t) => {
  const dir = scratch(t);
  const file = join(dir, CHILD_PID_FILE);
  t.throws(() => readChildPid(dir), {
    name: 'RkError',
    exitCode: 1,
    message: `cannot read ${file} (ENOENT): is a command running with --state-dir ${dir} (e.g. rk-unshare --gate --state-dir ${dir})?`,
  });
  writeFileSync(file, '4321');
  t.equal(readChildPid(dir), 4321);
  writeFileSync(file, '4321\n');
  t.equal(readChildPid(dir), 4321, 'a trailing newline (another writer) is fine');
  for (const bad of ['', 'abc', '0', '-5', '12.5', '12 13', '0x10', '1e3', ' 7']) {
    writeFileSync(file, bad);
    t.throws(() => readChildPid(dir), { name: 'RkError', message: `${file} does not hold a PID (found ${JSON.stringify(bad)}): is ${dir} a state dir?` }, JSON.stringify(bad));
  }
  writeFileSync(file, 'x'.repeat(100));
  t.throws(() => readChildPid(dir), { message: `${file} does not hold a PID (100 bytes): is ${dir} a state dir?` }, 'long junk is not read');
  rmSync(file);
  symlinkSync('/etc/hostname', file);
  t.throws(() => readChildPid(dir), { message: `${file} is a symlink, not a child_pid file: is ${dir} a state dir?` });
  rmSync(file);
  t.throws(() => readChildPid(join(dir, 'none')), { message: /\(ENOENT\)/ });
  const st = StateDir.open(join(dir, 'live'));
  t.teardown(() => st.remove());
  st.writeChildPid(process.pid);
  t.equal(readChildPid(st.path), process.pid, 'what writeChildPid wrote');
});

t.test('removeEmptyDir: a helper that outlives the owner removes the dir only when empty and still the same dir', async (t) => {
  const parent = mkdtempSync(join(tmpdir(), 'rk-state-unit-'));
  t.teardown(() => rmSync(parent, { recursive: true, force: true }));
  const dir = join(parent, 's');
  const st = StateDir.open(dir);
  const held = statSync(dir);
  const other = join(parent, 'other'); // made now: another inode
  mkdirSync(other);
  // A helper's file that appeared after the owner removed its files (rk-bypass
  // --supervise rewriting bypass.json at that moment): the dir stays.
  writeFileSync(join(dir, 'helper-file'), '{}');
  st.remove();
  t.ok(existsSync(dir), "the owner's rmdir failed while the helper's file was there");
  removeEmptyDir(dir, held);
  t.ok(existsSync(dir), 'not empty: it stays');
  rmSync(join(dir, 'helper-file'));
  removeEmptyDir(dir, held);
  t.notOk(existsSync(dir), 'empty and the same dir: removed');
  renameSync(other, dir);
  removeEmptyDir(dir, held);
  t.ok(existsSync(dir), 'another dir under the name (not the one held): it stays');
  const live = StateDir.open(join(parent, 'live'));
  t.teardown(() => live.remove());
  removeEmptyDir(join(parent, 'live'), statSync(join(parent, 'live')));
  t.ok(existsSync(join(parent, 'live', 'lock')), "a live owner's dir (its lock in it) stays");
});
