// rk-idmap as the unprivileged user: what --print shows, the maps it writes
// into a real user namespace (compared with upstream rootlesskit's), and the
// errors a user meets.
import t, { type Test } from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectedMap, needsRoot, normMap, noSubidUser, repoRoot, run, start, tempDir, testGid, testUid, testUserName, waitFor } from './harness.js';

const rkIdmapJs = join(repoRoot, 'apps/rk-idmap/bin/rk-idmap.cjs');

/** A process of the test user waiting in a new user namespace whose maps are still empty. */
async function nsSleeper(t: Test): Promise<number> {
  const p = start(['unshare', '--user', '--', 'sleep', '60']);
  t.teardown(() => {
    try {
      process.kill(p.pid!, 'SIGKILL');
    } catch {
      // gone already
    }
  });
  // setpriv, env and unshare exec one another: the PID is sleep's once it runs
  await waitFor(() => {
    try {
      return readFileSync(`/proc/${p.pid}/comm`, 'utf8').trim() === 'sleep';
    } catch {
      return false;
    }
  });
  t.equal(readFileSync(`/proc/${p.pid}/uid_map`, 'utf8'), '', 'no map yet');
  return p.pid!;
}

/** The "inside outside count" lines under a "uid_map for" / "gid_map for" header of --print. */
function printedMap(stdout: string, kind: 'uid' | 'gid'): string {
  const section = stdout.split(/^(?=[ug]id_map for )/m).find((s) => s.startsWith(`${kind}_map for `)) ?? '';
  return section
    .split('\n')
    .slice(1)
    .filter((l) => l.trim())
    .map((l) => l.trim().split(/\s+/).slice(0, 3).join(' '))
    .join('\n');
}

t.test('--print shows the caller, the subordinate ranges and where they come from', async (t) => {
  const r = run(['rk-idmap', '--print']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, new RegExp(`^uid_map for ${testUserName} \\(uid ${testUid}\\), source (dynamic|static):\n`));
  t.match(r.stdout, new RegExp(`\ngid_map for ${testUserName} \\(gid ${testGid}\\), source`));
  t.equal(printedMap(r.stdout, 'uid'), expectedMap('uid'));
  t.equal(printedMap(r.stdout, 'gid'), expectedMap('gid'));
  t.match(r.stdout, /\(caller\)\n/);
  const stat = run(['rk-idmap', '--print', '--subid-source', 'static']);
  t.equal(stat.code, 0, stat.stderr);
  t.match(stat.stdout, /source static:\n/);
  t.match(stat.stdout, /\(\/etc\/subuid:\d+\)\n/);
  t.match(stat.stdout, /\(\/etc\/subgid:\d+\)\n/);
  t.equal(printedMap(stat.stdout, 'uid'), expectedMap('uid'));
});

t.test('--print --json', async (t) => {
  const r = run(['rk-idmap', '--print', '--json']);
  t.equal(r.code, 0, r.stderr);
  const m = JSON.parse(r.stdout) as { user: string; uid: number; uidMap: Array<{ inside: number; outside: number; count: number }>; gidMap: typeof m.uidMap };
  t.equal(m.user, testUserName);
  t.equal(m.uid, testUid);
  t.equal(m.uidMap.map((l) => `${l.inside} ${l.outside} ${l.count}`).join('\n'), expectedMap('uid'));
  t.equal(m.gidMap.map((l) => `${l.inside} ${l.outside} ${l.count}`).join('\n'), expectedMap('gid'));
});

t.test('writes uid_map and gid_map of a process in a new user namespace, as upstream rootlesskit maps', async (t) => {
  const pid = await nsSleeper(t);
  const r = run(['rk-idmap', String(pid)]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stderr, '');
  const uid = readFileSync(`/proc/${pid}/uid_map`, 'utf8');
  const gid = readFileSync(`/proc/${pid}/gid_map`, 'utf8');
  t.equal(normMap(uid), expectedMap('uid'));
  t.equal(normMap(gid), expectedMap('gid'));
  t.equal(readFileSync(`/proc/${pid}/setgroups`, 'utf8'), 'allow\n', 'setgroups stays allowed, as with newgidmap');
  if (existsSync('/usr/bin/rootlesskit')) {
    const ref = run(['/usr/bin/rootlesskit', 'sh', '-c', 'cat /proc/self/uid_map; echo ---; cat /proc/self/gid_map']);
    t.equal(ref.code, 0, ref.stderr);
    const [refUid, refGid] = ref.stdout.split('---\n');
    t.equal(uid, refUid, 'uid_map equals upstream rootlesskit\'s');
    t.equal(gid, refGid, 'gid_map equals upstream rootlesskit\'s');
  }
  const again = run(['rk-idmap', String(pid)]);
  t.equal(again.code, 1);
  t.equal(again.stderr, `rk-idmap: error: the uid_map of process ${pid} is written already: a map can be written only once\n`);
});

t.test('--subid-source static and dynamic write the same maps', async (t) => {
  for (const source of ['static', 'dynamic']) {
    const pid = await nsSleeper(t);
    const r = run(['rk-idmap', '--subid-source', source, String(pid)]);
    t.equal(r.code, 0, r.stderr);
    t.equal(normMap(readFileSync(`/proc/${pid}/uid_map`, 'utf8')), expectedMap('uid'), source);
    t.equal(normMap(readFileSync(`/proc/${pid}/gid_map`, 'utf8')), expectedMap('gid'), source);
  }
});

t.test('--map-root maps only the caller and denies setgroups', async (t) => {
  const pid = await nsSleeper(t);
  const r = run(['rk-idmap', '--map-root', String(pid)]);
  t.equal(r.code, 0, r.stderr);
  t.equal(normMap(readFileSync(`/proc/${pid}/uid_map`, 'utf8')), `0 ${testUid} 1`);
  t.equal(normMap(readFileSync(`/proc/${pid}/gid_map`, 'utf8')), `0 ${testGid} 1`);
  t.equal(readFileSync(`/proc/${pid}/setgroups`, 'utf8'), 'deny\n');
});

t.test('--state-dir: the PID comes from DIR/child_pid', async (t) => {
  const dir = tempDir();
  t.teardown(() => run(['rm', '-rf', dir]));
  const missing = run(['rk-idmap', '--state-dir', dir]);
  t.equal(missing.code, 1);
  t.match(missing.stderr, new RegExp(`^rk-idmap: error: cannot read ${dir}/child_pid \\(ENOENT\\): is a command running with --state-dir ${dir}`));
  t.equal(missing.stderr.trim().split('\n').length, 1, 'one line');

  writeFileSync(`${dir}/child_pid`, 'hello');
  const bad = run(['rk-idmap', '--state-dir', dir]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, `${dir}/child_pid does not hold a PID (found "hello")`);

  const pid = await nsSleeper(t);
  writeFileSync(`${dir}/child_pid`, String(pid)); // as upstream writes it: no newline
  const r = run(['rk-idmap', '--state-dir', dir]);
  t.equal(r.code, 0, r.stderr);
  t.equal(normMap(readFileSync(`/proc/${pid}/uid_map`, 'utf8')), expectedMap('uid'));
  t.equal(normMap(readFileSync(`/proc/${pid}/gid_map`, 'utf8')), expectedMap('gid'));
});

t.test('errors name the fix', async (t) => {
  const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  const gone = run(['rk-idmap', String(pidMax)]);
  t.equal(gone.code, 1);
  t.equal(gone.stderr, `rk-idmap: error: process ${pidMax} does not exist (it exited before its ID maps were written)\n`);

  const pid = await nsSleeper(t);
  // a PATH without newuidmap (node and rk-idmap by absolute path; the harness's own PATH
  // would win over run()'s env option, so env(1) sets it last)
  const noTools = run(['/usr/bin/env', 'PATH=/nonexistent', process.execPath, rkIdmapJs, String(pid)]);
  t.equal(noTools.code, 1);
  t.equal(noTools.stderr, 'rk-idmap: error: newuidmap not found: install the Debian package "uidmap" (sudo apt-get install uidmap)\n');
  t.equal(readFileSync(`/proc/${pid}/uid_map`, 'utf8'), '', 'nothing written');

  const notNew = run(['rk-idmap', String(process.pid)]);
  t.equal(notNew.code, 1);
  t.match(notNew.stderr, /^rk-idmap: error: /);
});

t.test('a user without subordinate IDs is told which line to add', { skip: needsRoot }, async (t) => {
  const nosub = run(['rk-idmap', '--print'], { user: noSubidUser });
  t.equal(nosub.code, 1);
  t.match(nosub.stderr, new RegExp(`^rk-idmap: error: no subordinate UIDs for user "${noSubidUser}" \\(uid \\d+\\) in /etc/subuid: add a line such as "${noSubidUser}:100000:65536" \\(e\\.g\\. sudo usermod --add-subuids 100000-165535 ${noSubidUser}\\)\n$`));
});

t.test('usage errors: one line, exit 2', async (t) => {
  for (const argv of [['--bogus'], [], ['12x'], ['1', '2'], ['--json'], ['--subid-source', 'nss', '--print'], ['--state-dir', '/tmp', '1']]) {
    const r = run(['rk-idmap', ...argv]);
    t.equal(r.code, 2, argv.join(' '));
    t.match(r.stderr, /^rk-idmap: error: .* \(see rk-idmap --help\)\n$/, argv.join(' '));
  }
  const help = run(['rk-idmap', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /Usage: rk-idmap \[options\] \[PID\]/);
  t.match(help.stdout, /Exit status: 0 /);
  t.match(help.stdout, /--state-dir/);
  t.equal(run(['rk-idmap', '--version']).code, 0);
});
