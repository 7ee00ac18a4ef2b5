// rk-unshare as the unprivileged user: maps, exit statuses, signals, PID 1,
// parent-death, the gate, and the errors a user meets.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { expectedMap, isRoot, normMap, noSubidUser, run, start, tempDir, testGid, testUid, waitFor } from './harness.js';

t.test('--map-auto maps the caller to root and the subordinate ranges below, like upstream', async (t) => {
  const r = run(['rk-unshare', '--user', '--mount', '--map-auto', '--', 'sh', '-c', 'cat /proc/self/uid_map; echo ---; cat /proc/self/gid_map; echo ---; cat /proc/self/setgroups; id -u']);
  t.equal(r.code, 0, r.stderr);
  const [uid, gid, rest] = r.stdout.split('---\n');
  t.equal(normMap(uid!), expectedMap('uid'));
  t.equal(normMap(gid!), expectedMap('gid'));
  t.match(rest, /^allow\n0\n$/);
  const ref = run(['/usr/bin/rootlesskit', 'sh', '-c', 'cat /proc/self/uid_map; echo ---; cat /proc/self/gid_map']);
  t.equal(ref.code, 0, ref.stderr);
  const [refUid, refGid] = ref.stdout.split('---\n');
  t.equal(normMap(uid!), normMap(refUid!), 'uid_map equals upstream rootlesskit');
  t.equal(normMap(gid!), normMap(refGid!), 'gid_map equals upstream rootlesskit');
});

t.test('root inside is not real root', async (t) => {
  const r = run(['rk-unshare', '--user', '--mount', '--map-auto', '--', 'touch', '/note_that_you_are_not_real_root']);
  t.not(r.code, 0);
  t.match(r.stderr, /Permission denied/);
  t.notOk(existsSync('/note_that_you_are_not_real_root'));
});

t.test('--map-root maps only the caller and denies setgroups', async (t) => {
  const r = run(['rk-unshare', '--map-root', '--', 'sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups']);
  t.equal(r.code, 0, r.stderr);
  t.equal(normMap(r.stdout), `0 ${testUid} 1\n0 ${testGid} 1\ndeny`);
});

t.test('exit statuses: 0, 42, 255 with the signal named, 127 for a missing command', async (t) => {
  t.equal(run(['rk-unshare', '--map-root', '--', 'true']).code, 0);
  t.equal(run(['rk-unshare', '--map-root', '--', 'sh', '-c', 'exit 42']).code, 42);
  const sig = run(['rk-unshare', '--map-root', '--', 'sh', '-c', 'kill -USR1 $$']);
  t.equal(sig.code, 255);
  t.match(sig.stderr, /SIGUSR1/);
  const nf = run(['rk-unshare', '--map-root', '--', 'no-such-command-rk']);
  t.equal(nf.code, 127);
  t.match(nf.stderr, /no-such-command-rk: command not found/);
  t.equal(nf.stderr.trim().split('\n').length, 1, 'one line');
});

t.test('--pid: CMD is PID 1 and sees a fresh /proc', async (t) => {
  const r = run(['rk-unshare', '--user', '--map-auto', '--pid', '--', 'sh', '-c', 'echo $$; ls /proc | grep -E "^[0-9]+$" | wc -l']);
  t.equal(r.code, 0, r.stderr);
  const [pid, count] = r.stdout.trim().split('\n');
  t.equal(pid, '1');
  t.ok(Number(count) <= 4, `only our processes in /proc (${count})`);
  const reaper = run(['rk-unshare', '--user', '--map-auto', '--pid', '--reaper', '--', 'sh', '-c', 'echo $$; exit 3']);
  t.equal(reaper.code, 3, reaper.stderr);
  t.equal(reaper.stdout.trim(), '2', 'with --reaper, CMD is PID 2 under the reaper');
});

t.test('other namespaces: uts, ipc, net, cgroup', async (t) => {
  const r = run(['rk-unshare', '--user', '--map-root', '--uts', '--ipc', '--net', '--cgroup', '--', 'sh', '-c',
    'hostname rk-inside && hostname; readlink /proc/self/ns/uts /proc/self/ns/ipc /proc/self/ns/net /proc/self/ns/cgroup']);
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.equal(lines[0], 'rk-inside');
  const host = execFileSync('readlink', ['/proc/self/ns/uts', '/proc/self/ns/ipc', '/proc/self/ns/net', '/proc/self/ns/cgroup']).toString().trim().split('\n');
  for (let i = 0; i < 4; i++) t.not(lines[i + 1], host[i], `namespace ${host[i]} is new`);
  t.not(execFileSync('hostname').toString().trim(), 'rk-inside');
});

t.test('signals are forwarded to CMD', async (t) => {
  const dir = tempDir();
  const p = start(['rk-unshare', '--map-root', '--state-dir', `${dir}/s`, '--', 'sh', '-c', "trap 'kill $!; exit 7' TERM; sleep 100 & wait"]);
  await waitFor(() => existsSync(`${dir}/s/child_pid`));
  await new Promise((r) => setTimeout(r, 200));
  const code = await new Promise<number | null>((resolve) => {
    p.on('exit', (c) => resolve(c));
    // p is setpriv/env exec'd into node: the same PID as rk-unshare
    process.kill(p.pid!, 'SIGTERM');
  });
  t.equal(code, 7);
  t.notOk(existsSync(`${dir}/s`), 'state dir removed at exit');
});

t.test('SIGKILL of rk-unshare kills CMD (pdeathsig)', async (t) => {
  const dir = tempDir();
  const p = start(['rk-unshare', '--user', '--map-auto', '--state-dir', `${dir}/s`, '--', 'sleep', '100']);
  await waitFor(() => existsSync(`${dir}/s/child_pid`));
  const pid = Number(readFileSync(`${dir}/s/child_pid`, 'utf8'));
  t.ok(existsSync(`/proc/${pid}`));
  process.kill(p.pid!, 'SIGKILL');
  await waitFor(() => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] === 'Z');
  t.pass(`child ${pid} died with its parent`);
});

t.test('the gate: held until rk-idmap maps it and rk-unshare --release opens it', async (t) => {
  const dir = tempDir();
  const s = `${dir}/s`;
  const p = start(['rk-unshare', '--user', '--gate', '--state-dir', s, '--', 'cat', '/proc/self/uid_map']);
  let out = '';
  p.stdout!.on('data', (d) => (out += d));
  await waitFor(() => existsSync(`${s}/gate`));
  const pid = Number(readFileSync(`${s}/child_pid`, 'utf8'));
  t.equal(readFileSync(`/proc/${pid}/uid_map`, 'utf8'), '', 'no map before rk-idmap');
  t.equal(out, '', 'CMD has not run yet');
  const m = run(['rk-idmap', '--state-dir', s]);
  t.equal(m.code, 0, m.stderr);
  const rel = run(['rk-unshare', '--release', s]);
  t.equal(rel.code, 0, rel.stderr);
  const code = await new Promise((r) => p.on('exit', r));
  t.equal(code, 0);
  t.equal(normMap(out), expectedMap('uid'));
  const again = run(['rk-unshare', '--release', s]);
  t.equal(again.code, 1);
  t.match(again.stderr, /nothing is held at the gate/);
});

t.test('a second instance on the same state dir is refused', async (t) => {
  const dir = tempDir();
  const p = start(['rk-unshare', '--map-root', '--state-dir', `${dir}/s`, '--', 'sleep', '30']);
  await waitFor(() => existsSync(`${dir}/s/child_pid`));
  const r = run(['rk-unshare', '--map-root', '--state-dir', `${dir}/s`, '--', 'true']);
  t.equal(r.code, 1);
  t.match(r.stderr, /in use by another/);
  process.kill(p.pid!, 'SIGTERM');
  await new Promise((r) => p.on('exit', r));
});

t.test('a user without subordinate IDs is told the command that adds them', { skip: !isRoot && 'needs root to run as a user without subordinate IDs' }, async (t) => {
  const nosub = run(['rk-unshare', '--user', '--map-auto', '--', 'true'], { user: noSubidUser });
  t.equal(nosub.code, 1);
  t.match(nosub.stderr, /in \/etc\/subuid and \/etc\/subgid: sudo usermod --add-subuids \d+-\d+ --add-subgids \d+-\d+ /);
  t.equal(nosub.stderr.trim().split('\n').length, 1, 'one line');
});

t.test('errors name the fix', async (t) => {
  const usage = run(['rk-unshare', '--bogus-flag', '--', 'true']);
  t.equal(usage.code, 2);
  t.match(usage.stderr, /rk-unshare: error: .*bogus-flag/);
  const gate = run(['rk-unshare', '--gate', '--', 'true']);
  t.equal(gate.code, 2);
  t.match(gate.stderr, /--gate needs --state-dir/);
  const noperm = run(['rk-unshare', '--mount', '--', 'true']);
  t.equal(noperm.code, 1);
  t.match(noperm.stderr, /add --user/);
});

t.test('user namespaces disabled: the sysctl is named', async (t) => {
  // Inside a user namespace of our own we may set its limit to 0.
  const r = run(['unshare', '--user', '--map-root-user', '--', 'sh', '-c',
    'echo 0 > /proc/sys/user/max_user_namespaces && rk-unshare --user -- true']);
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, /user\.max_user_namespaces/);
});
