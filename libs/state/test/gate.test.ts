// The gate FIFO in the state dir: a held child is released by anyone writing
// to STATE/gate (rk-unshare --release, or echo), and releasing with nothing
// held is an error that names the fix.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GATE_FIFO, StateDir, createGate, releaseGate } from '../src/index.js';

function scratch(t: Test): string {
  const d = mkdtempSync(join(tmpdir(), 'rk-gate-unit-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A state dir held for the test (the gate lives in one). */
function held(t: Test): StateDir {
  const st = StateDir.open(join(scratch(t), 's'));
  t.teardown(() => st.remove());
  return st;
}

/** 'open' if p settles within ms, else 'closed'. */
async function stateWithin(p: Promise<unknown>, ms: number): Promise<'open' | 'closed'> {
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([p.then(() => 'open' as const), new Promise<'closed'>((res) => (timer = setTimeout(() => res('closed'), ms)))]);
  clearTimeout(timer);
  return r;
}

t.test('createGate: a private FIFO that opens when releaseGate writes to it', async (t) => {
  const state = held(t);
  const dir = state.path;
  const gate = createGate(state);
  t.teardown(() => gate.close());
  const st = statSync(join(dir, GATE_FIFO));
  t.ok(st.isFIFO(), 'STATE/gate is a FIFO');
  t.equal(st.mode & 0o777, 0o600);
  t.equal(await stateWithin(gate.opened, 100), 'closed', 'held until released');
  releaseGate(dir);
  t.equal(await stateWithin(gate.opened, 5000), 'open');
});

t.test('any writer releases it, e.g. echo > STATE/gate from a shell', async (t) => {
  const state = held(t);
  const dir = state.path;
  const gate = createGate(state);
  t.teardown(() => gate.close());
  const r = spawnSync('sh', ['-c', 'echo > "$1"', 'sh', join(dir, GATE_FIFO)], { timeout: 5000 });
  t.equal(r.status, 0);
  t.equal(await stateWithin(gate.opened, 5000), 'open');
});

t.test('releaseGate with nothing held: one line naming the fix', async (t) => {
  const dir = scratch(t);
  const msg = `nothing is held at the gate in ${dir} (no ${join(dir, GATE_FIFO)} reader): start it with rk-unshare --gate --state-dir ${dir}`;
  t.throws(() => releaseGate(dir), { name: 'RkError', exitCode: 1, message: msg }, 'no FIFO at all');

  const state = StateDir.open(dir);
  t.teardown(() => state.remove());
  const gate = createGate(state);
  releaseGate(dir);
  await gate.opened;
  gate.close();
  // close() lets go of the reader asynchronously; wait for it to be gone
  const end = Date.now() + 5000;
  let err: unknown;
  while (Date.now() < end) {
    try {
      releaseGate(dir);
    } catch (e) {
      err = e;
      break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  t.match(err, { name: 'RkError', message: msg }, 'a FIFO nobody reads any more');
});

t.test('releaseGate writes only to a FIFO: a symlink or a regular file named gate is refused and left as it was', async (t) => {
  const dir = scratch(t);
  const target = join(dir, 'victim');
  writeFileSync(target, 'precious\n');
  symlinkSync(target, join(dir, GATE_FIFO));
  t.throws(() => releaseGate(dir), { name: 'RkError', message: `${join(dir, GATE_FIFO)} is a symlink, not the gate FIFO of rk-unshare: nothing written (is ${dir} the state dir of rk-unshare --gate?)` });
  t.equal(readFileSync(target, 'utf8'), 'precious\n', 'the symlink\'s target is untouched');
  rmSync(join(dir, GATE_FIFO));
  writeFileSync(join(dir, GATE_FIFO), 'data\n');
  t.throws(() => releaseGate(dir), { message: /is a regular file, not the gate FIFO/ });
  t.equal(readFileSync(join(dir, GATE_FIFO), 'utf8'), 'data\n');
});
