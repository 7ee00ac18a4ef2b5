// spawn + watchChild: the records a child writes before exec, EOF at exec,
// then its exit; the gate; waitChild. (Namespaces are covered by
// libs/namespaces, which builds on these.)
import t, { type Test } from 'tap';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPORT_SIZE, ReportKind, Stage, constants, spawn, waitChild, watchChild, type NativeSpawnOptions, type WaitResult, type WatchEvent } from '../src/index.js';

function scratch(t: Test): string {
  const d = mkdtempSync(join(tmpdir(), 'rk-native-spawn-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function opts(o: Partial<NativeSpawnOptions> & { argv: string[] }): NativeSpawnOptions {
  return { file: '/bin/sh', env: ['PATH=/usr/bin:/bin'], cloneFlags: 0, gate: false, pdeathsig: constants.SIGKILL, ...o };
}

/** Every event of a watched child, once it has exited. */
function watch(pid: number, reportFd: number): Promise<WatchEvent[]> {
  const events: WatchEvent[] = [];
  return new Promise((resolve) =>
    watchChild(pid, reportFd, (e) => {
      events.push(e);
      if (e.type === 'exit') resolve(events);
    }),
  );
}

const plain = (events: WatchEvent[]) => events.map((e) => (e.type === 'report' ? { type: 'report', record: [...e.record] } : { ...e }));

t.test('a command that runs: EOF at exec, then its exit code', async (t) => {
  const r = spawn(opts({ argv: ['sh', '-c', 'exit 7'] }));
  t.ok(r.pid > 0);
  t.equal(r.gateFd, -1, 'no gate unless asked');
  t.ok(r.reportFd > 2);
  t.same(plain(await watch(r.pid, r.reportFd)), [{ type: 'eof' }, { type: 'exit', code: 7 }]);
});

t.test('killed: the signal number', async (t) => {
  const r = spawn(opts({ argv: ['sh', '-c', 'kill -KILL $$'] }));
  t.same(plain(await watch(r.pid, r.reportFd)), [{ type: 'eof' }, { type: 'exit', signal: 9 }]);
});

t.test('exec fails: an error record {kind, stage, errno, status}, exit 127', async (t) => {
  t.equal(REPORT_SIZE, 16);
  const r = spawn(opts({ file: '/nonexistent/cmd', argv: ['cmd'] }));
  t.same(plain(await watch(r.pid, r.reportFd)), [
    { type: 'report', record: [ReportKind.Error, Stage.Exec, 2, 0] },
    { type: 'eof' },
    { type: 'exit', code: 127 },
  ]);
});

t.test('a plan step fails: the record names its index; nothing is exec\'d', async (t) => {
  const d = scratch(t);
  const r = spawn(opts({
    argv: ['sh', '-c', 'echo > "$0/ran"', d],
    plan: [{ op: 'mkdir', path: join(d, 'new') }, { op: 'mkdir', path: d }],
  }));
  t.same(plain(await watch(r.pid, r.reportFd)), [
    { type: 'report', record: [ReportKind.Error, 1, 17, 0] },
    { type: 'eof' },
    { type: 'exit', code: 1 },
  ]);
  t.ok(existsSync(join(d, 'new')), 'step 0 ran in the child');
  t.notOk(existsSync(join(d, 'ran')));
});

t.test('fds: child fd i is fds[i]; -1 closes it; a bad fd is a Fds-stage error', async (t) => {
  const d = scratch(t);
  const out = openSync(join(d, 'out'), 'w');
  const r = spawn(opts({ argv: ['sh', '-c', 'echo to-3 >&3; [ -e /proc/$$/fd/0 ] || echo no-stdin >&3'], fds: [-1, 2, 2, out] }));
  closeSync(out);
  t.same(plain(await watch(r.pid, r.reportFd)), [{ type: 'eof' }, { type: 'exit', code: 0 }]);
  t.equal(readFileSync(join(d, 'out'), 'utf8'), 'to-3\nno-stdin\n', 'fd 3 is our file; fd 0 is closed');

  const bad = spawn(opts({ argv: ['true'], fds: [0, 1, 2, 999] }));
  t.same(plain(await watch(bad.pid, bad.reportFd)), [
    { type: 'report', record: [ReportKind.Error, Stage.Fds, 9, 0] },
    { type: 'eof' },
    { type: 'exit', code: 1 },
  ]);
});

t.test('argv and env are exactly what is given', async (t) => {
  const d = scratch(t);
  const out = openSync(join(d, 'out'), 'w');
  const r = spawn(opts({ argv: ['sh', '-c', 'printf "%s|%s|%s" "$0" "$A" "${HOME-unset}"', 'zero'], env: ['A=1 2'], fds: [0, out, 2] }));
  closeSync(out);
  await watch(r.pid, r.reportFd);
  t.equal(readFileSync(join(d, 'out'), 'utf8'), 'zero|1 2|unset');
});

t.test('the gate: a byte releases the child, EOF ends it without exec', async (t) => {
  const d = scratch(t);
  const held = spawn(opts({ argv: ['sh', '-c', 'echo > "$0/ran"', d], gate: true }));
  t.ok(held.gateFd > 2, 'the write end of the gate');
  const events = watch(held.pid, held.reportFd);
  t.notOk(existsSync(join(d, 'ran')));
  writeSync(held.gateFd, Buffer.from([1]));
  closeSync(held.gateFd);
  t.same(plain(await events), [{ type: 'eof' }, { type: 'exit', code: 0 }]);
  t.ok(existsSync(join(d, 'ran')));

  const aborted = spawn(opts({ argv: ['sh', '-c', 'echo > "$0/aborted"', d], gate: true }));
  closeSync(aborted.gateFd);
  const ECANCELED = 125;
  t.same(plain(await watch(aborted.pid, aborted.reportFd)), [
    { type: 'report', record: [ReportKind.Error, Stage.Gate, ECANCELED, 0] },
    { type: 'eof' },
    { type: 'exit', code: 1 },
  ], 'a Gate-stage record, and exit 1');
  t.notOk(existsSync(join(d, 'aborted')));
});

t.test('a held child keeps none of our other fds (only its gate, report pipe and fds)', async (t) => {
  const d = scratch(t);
  const mine = openSync(join(d, 'mine'), 'w');
  t.teardown(() => closeSync(mine));
  const held = spawn(opts({ argv: ['true'], file: '/bin/true', gate: true }));
  const events = watch(held.pid, held.reportFd);
  // the child closes them first thing; wait until it sits at the gate with only its own
  const fdsOf = () => readdirSync(`/proc/${held.pid}/fd`).map(Number).sort((a, b) => a - b);
  const end = Date.now() + 5000;
  while (fdsOf().length > 5 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  const fds = fdsOf();
  t.equal(fds.length, 5, `0, 1, 2, the gate and the report pipe (${fds.join(' ')})`);
  t.notOk(fds.includes(mine), 'not a file we opened');
  writeSync(held.gateFd, Buffer.from([1]));
  closeSync(held.gateFd);
  t.same(plain(await events), [{ type: 'eof' }, { type: 'exit', code: 0 }]);
});

t.test('waitChild: the status without a report pipe', async (t) => {
  const r = spawn(opts({ argv: ['sh', '-c', 'exit 42'] }));
  closeSync(r.reportFd);
  const st = await new Promise<WaitResult>((res) => waitChild(r.pid, res));
  t.same({ ...st }, { code: 42 });
  const gone = await new Promise<WaitResult>((res) => waitChild(r.pid, res));
  t.match(gone.error, { errno: -10, syscall: 'waitpid', message: /^waitpid: .*\(No child processes\)$/ }, 'waiting twice: ECHILD');
});

t.test('errno values libuv has no name for still get their code', async (t) => {
  const r = spawn(opts({ argv: ['true'], file: '/bin/true' }));
  closeSync(r.reportFd);
  await new Promise<WaitResult>((res) => waitChild(r.pid, res));
  const gone = await new Promise<WaitResult>((res) => waitChild(r.pid, res));
  t.match(gone.error, { code: 'ECHILD', errno: -10, message: 'waitpid: ECHILD (No child processes)' });
});

t.test('clone errors are thrown like Node\'s; bad options are TypeErrors', async (t) => {
  const CLONE_THREAD = 0x10000; // without CLONE_SIGHAND: EINVAL
  t.throws(() => spawn(opts({ argv: ['true'], cloneFlags: CLONE_THREAD })), { code: 'EINVAL', errno: -22, syscall: 'clone', message: 'clone: EINVAL (Invalid argument)' });
  t.throws(() => spawn(undefined as never), { name: 'TypeError', message: 'spawn: options object expected' });
  t.throws(() => spawn(opts({ argv: ['true'], plan: [{ op: 'nope' } as never] })), { name: 'TypeError', message: 'unknown plan op: nope' });
});

t.test('no fd is left open here once a child has been watched to its end', async (t) => {
  const count = () => readdirSync('/proc/self/fd').length;
  const before = count();
  for (let i = 0; i < 5; i++) {
    const r = spawn(opts({ argv: ['true'], file: '/bin/true', gate: true }));
    writeSync(r.gateFd, Buffer.from([1]));
    closeSync(r.gateFd);
    await watch(r.pid, r.reportFd);
    const f = spawn(opts({ file: '/nonexistent', argv: ['x'] }));
    await watch(f.pid, f.reportFd);
  }
  t.equal(count(), before);
});
