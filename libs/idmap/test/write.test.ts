// Writing maps directly (as root, which is how unit tests run in CI) into a
// user namespace made here with unshare(1); the unprivileged path through
// newuidmap is covered by the integration tests.
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { formatIdMap, writeIdMaps, writeRootOnlyMaps, type IdMaps } from '../src/index.js';

const isRoot = process.geteuid!() === 0;
const haveUnshare = spawnSync('unshare', ['--user', 'true']).status === 0;

/** A process waiting in a new user namespace with empty maps. */
async function nsProcess(t: Test): Promise<number> {
  const p = spawn('unshare', ['--user', '--', 'sleep', '60'], { stdio: 'ignore' });
  t.teardown(() => {
    p.kill('SIGKILL');
  });
  await new Promise((r) => p.once('spawn', r));
  // unshare execs sleep in the same process once the namespace is made
  const end = Date.now() + 5000;
  while (readFileSync(`/proc/${p.pid}/comm`, 'utf8').trim() !== 'sleep' && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  return p.pid!;
}

const maps: IdMaps = {
  user: 'alice',
  uid: 1500,
  gid: 1600,
  uidMap: [
    { inside: 0, outside: 1500, count: 1 },
    { inside: 1, outside: 100000, count: 65536 },
  ],
  gidMap: [
    { inside: 0, outside: 1600, count: 1 },
    { inside: 1, outside: 200000, count: 65536 },
  ],
  uidRanges: [],
  gidRanges: [],
  warnings: [],
  source: 'static',
};

t.test('a process that is gone: the error says so', async (t) => {
  const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  await t.rejects(writeIdMaps(pidMax, maps), { name: 'RkError', message: `process ${pidMax} does not exist (it exited before its ID maps were written)` });
  await t.rejects(writeRootOnlyMaps(pidMax, 1, 1), { message: /does not exist/ });
});

t.test('as root: uid_map and gid_map written directly', { skip: !isRoot || !haveUnshare ? 'needs root and unshare --user' : false }, async (t) => {
  const pid = await nsProcess(t);
  const rootMaps: IdMaps = { ...maps, user: 'root', uid: 0, gid: 0, uidMap: [{ inside: 0, outside: 0, count: 1 }, maps.uidMap[1]!], gidMap: [{ inside: 0, outside: 0, count: 1 }, maps.gidMap[1]!] };
  await writeIdMaps(pid, rootMaps);
  t.equal(readFileSync(`/proc/${pid}/uid_map`, 'utf8'), formatIdMap(rootMaps.uidMap));
  t.equal(readFileSync(`/proc/${pid}/gid_map`, 'utf8'), formatIdMap(rootMaps.gidMap));
  t.equal(readFileSync(`/proc/${pid}/setgroups`, 'utf8'), 'allow\n');
  await t.rejects(writeIdMaps(pid, rootMaps), { message: `the uid_map of process ${pid} is written already: a map can be written only once` });
});

t.test('as root: a process of another user is never mapped (as newuidmap refuses)', { skip: !isRoot || !haveUnshare ? 'needs root and unshare --user' : false }, async (t) => {
  const p = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'unshare', '--user', '--', 'sleep', '60'], { stdio: 'ignore' });
  t.teardown(() => {
    p.kill('SIGKILL');
  });
  const end = Date.now() + 5000;
  while (Date.now() < end) {
    try {
      if (readFileSync(`/proc/${p.pid}/comm`, 'utf8').trim() === 'sleep') break;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const msg = `process ${p.pid} belongs to uid 65534, not to uid 0 whose IDs would be mapped: only a process of that user can be mapped (run rk-idmap as the process's own user, who needs subordinate IDs)`;
  await t.rejects(writeRootOnlyMaps(p.pid!, 0, 0), { name: 'RkError', message: msg });
  await t.rejects(writeIdMaps(p.pid!, { ...maps, user: 'root', uid: 0, gid: 0 }), { message: msg.replace('not to uid 0', 'not to root (uid 0)') });
  t.equal(readFileSync(`/proc/${p.pid}/uid_map`, 'utf8'), '', 'nothing written');
  t.equal(readFileSync(`/proc/${p.pid}/setgroups`, 'utf8'), 'allow\n', 'setgroups untouched');
});

t.test('root-only maps: setgroups denied, the caller as 0', { skip: !haveUnshare ? 'needs unshare --user' : false }, async (t) => {
  const pid = await nsProcess(t);
  await writeRootOnlyMaps(pid, process.geteuid!(), process.getegid!());
  t.equal(readFileSync(`/proc/${pid}/uid_map`, 'utf8'), formatIdMap([{ inside: 0, outside: process.geteuid!(), count: 1 }]));
  t.equal(readFileSync(`/proc/${pid}/gid_map`, 'utf8'), formatIdMap([{ inside: 0, outside: process.getegid!(), count: 1 }]));
  t.equal(readFileSync(`/proc/${pid}/setgroups`, 'utf8'), 'deny\n');
});

t.test('a process in our own user namespace is refused with the reason', { skip: !isRoot ? 'direct writes need root' : false }, async (t) => {
  const p = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.teardown(() => p.kill('SIGKILL'));
  await new Promise((r) => p.once('spawn', r));
  await t.rejects(writeIdMaps(p.pid!, { ...maps, user: 'root', uid: 0, gid: 0 }), { message: `process ${p.pid} is in our own user namespace, not a new one: start it with "rk-unshare --user" (or "unshare --user")` });
});
