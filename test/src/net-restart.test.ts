// A network driver's helper that dies mid-run (issue 13): CMD keeps running,
// as upstream's does; the helper is restarted on the same namespace, serves
// new connections within a second or two, the published ports forward
// again, the API answers; one that dies in a tight loop is given up on with
// a clear message, CMD still running. The helper killed is always found
// among the descendants of the command the test started.
import t from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { descendants, run, start, tempDir, waitFor } from './harness.js';
import { exited, stderrOf } from './net-harness.js';
import { freePort, httpGet } from './net-helpers.js';
import { httpServer, type Server } from './servers.js';

let host: Server;
t.before(async () => {
  host = await httpServer();
});
t.teardown(() => host?.stop());

/** The one live process named `comm` under `pid` (waits for it, and for it to differ from `not`). */
async function helperUnder(pid: number, comm: string, not?: number): Promise<number> {
  let found: number | undefined;
  await waitFor(() => {
    const h = descendants(pid).filter((p) => p.comm === comm && p.pid !== not);
    found = h.length === 1 ? h[0]!.pid : undefined;
    return found !== undefined;
  }, 5000);
  return found!;
}

/** The helper PID net.json names (0 while it is being rewritten). */
function netJsonPid(s: string): number {
  try {
    return JSON.parse(readFileSync(`${s}/net.json`, 'utf8')).helperPid as number;
  } catch {
    return 0;
  }
}

/** From inside the namespace of `child`: a new connection to the host's loopback server through the gateway. */
function fromInside(child: number): string {
  return run(['nsenter', '--preserve-credentials', '-U', '-n', '-t', String(child), 'curl', '-sS', '-m', '3', `http://10.0.2.2:${host.port}/hello.txt`]).stdout;
}

/** The bytes the namespace's web server serves through the published port (undefined while nothing forwards). */
async function throughPort(port: number): Promise<string | undefined> {
  try {
    const r = await httpGet('127.0.0.1', port, '/page');
    return r.status === 200 ? r.body : undefined;
  } catch {
    return undefined;
  }
}

t.test('slirp4netns SIGKILLed: restarted on the same namespace; ports forward again; a tight loop is given up on, CMD still running', async (t) => {
  const dir = tempDir();
  const s = `${dir}/s`;
  const page = `page ${process.pid} ${Date.now()}\n`;
  writeFileSync(`${dir}/page`, page);
  const port = await freePort();
  const p = start(['rootlesskit', '--state-dir', s, '--net=slirp4netns', '--port-driver=slirp4netns', '-p', `127.0.0.1:${port}:80/tcp`,
    'python3', '-m', 'http.server', '80', '--bind', '0.0.0.0', '--directory', dir]);
  const err = stderrOf(p);
  t.teardown(() => void (p.exitCode === null && p.kill('SIGKILL')));
  await waitFor(() => existsSync(`${s}/api.sock`) && existsSync(`${s}/child_pid`), 20_000);
  const child = Number(readFileSync(`${s}/child_pid`, 'utf8'));
  let first: string | undefined;
  for (let i = 0; i < 100 && first === undefined; i++) {
    first = await throughPort(port);
    if (first === undefined) await new Promise((r) => setTimeout(r, 50));
  }
  t.equal(first, page, 'the published port forwards before');

  let helper = await helperUnder(p.pid!, 'slirp4netns');
  const killedAt = Date.now();
  process.kill(helper, 'SIGKILL');
  helper = await helperUnder(p.pid!, 'slirp4netns', helper);
  let again: string | undefined;
  while (again === undefined && Date.now() - killedAt < 5000) {
    again = await throughPort(port);
    if (again === undefined) await new Promise((r) => setTimeout(r, 20));
  }
  const took = Date.now() - killedAt;
  t.equal(again, page, 'the published port forwards bytes again');
  t.ok(took < 2000, `forwarding again ${took} ms after the kill`);
  t.comment(`port forwarding again ${took} ms after SIGKILL`);
  t.equal(fromInside(child), 'hello from the host\n', 'a new connection from inside to the host loopback via 10.0.2.2');
  t.ok(existsSync(`/proc/${child}`), 'CMD kept running');
  t.equal(p.exitCode, null, 'rootlesskit kept running');
  t.match(err(), /\[rootlesskit:parent\] warning: slirp4netns died \(killed by SIGKILL\): restarting \(restart 1\)\n/);
  const ports = run(['rootlessctl', '--socket', `${s}/api.sock`, 'list-ports', '--json']);
  t.equal(ports.code, 0, ports.stderr);
  t.match(ports.stdout.trim().split('\n').map((l) => JSON.parse(l)), [{ id: 1, spec: { proto: 'tcp', parentIP: '127.0.0.1', parentPort: port, childPort: 80 } }], 'the port keeps its id');
  t.equal(JSON.parse(readFileSync(`${s}/net.json`, 'utf8')).helperPid, helper, 'net.json names the new slirp4netns');

  // A helper that dies again and again (each time once it serves again): 5 restarts, then given up on.
  // net.json names the new helper only once its ports are forwarded again, so one try is enough.
  for (let i = 2; i <= 6; i++) {
    process.kill(helper, 'SIGKILL');
    if (i > 5) break;
    helper = await helperUnder(p.pid!, 'slirp4netns', helper);
    await waitFor(() => netJsonPid(s) === helper, 5000);
    t.equal(await throughPort(port), page, `forwarding again after restart ${i}`);
  }
  await waitFor(() => /giving up/.test(err()), 5000);
  t.match(err(), /\[rootlesskit:parent\] error: slirp4netns died \(killed by SIGKILL\): it was restarted 5 times within 30 s: giving up on it; CMD keeps running without network\n/);
  await new Promise((r) => setTimeout(r, 300));
  t.same(descendants(p.pid!).filter((d) => d.comm === 'slirp4netns'), [], 'no slirp4netns any more');
  t.ok(existsSync(`/proc/${child}`), 'CMD still running');
  const info = run(['rootlessctl', '--socket', `${s}/api.sock`, 'info', '--json']);
  t.equal(info.code, 0, info.stderr);
  t.equal(JSON.parse(info.stdout).childPID, child, 'the API answers');
  process.kill(child, 'SIGTERM');
  t.equal(await exited(p), 255, "rootlesskit exits with CMD's status (killed by a signal: 255)");
  t.notOk(existsSync(s), 'state dir removed');
});

t.test('rk-net composed in shell: slirp4netns restarted; a tight loop ends rk-net (status 1, one clear line), CMD still running', async (t) => {
  const dir = tempDir();
  const s = `${dir}/s`;
  const u = start(['rk-unshare', '--user', '--mount', '--net', '--map-auto', '--gate', '--state-dir', s, '--', 'sleep', '60']);
  t.teardown(() => void (u.exitCode === null && u.kill('SIGKILL')));
  await waitFor(() => existsSync(`${s}/child_pid`), 10_000);
  const child = Number(readFileSync(`${s}/child_pid`, 'utf8'));
  const n = start(['rk-net', '--net=slirp4netns', '--state-dir', s, '--release']);
  const err = stderrOf(n);
  t.teardown(() => void (n.exitCode === null && n.kill('SIGKILL')));
  await waitFor(() => existsSync(`${s}/net.json`), 10_000);
  t.equal(fromInside(child), 'hello from the host\n', 'before');
  let helper = await helperUnder(n.pid!, 'slirp4netns');
  process.kill(helper, 'SIGKILL');
  helper = await helperUnder(n.pid!, 'slirp4netns', helper);
  let inside = '';
  await waitFor(() => (inside = fromInside(child)) !== '', 3000).catch(() => {});
  t.equal(inside, 'hello from the host\n', 'a new connection from inside after the restart');
  t.match(err(), /^rk-net: warning: slirp4netns died \(killed by SIGKILL\): restarting \(restart 1\)$/m);
  for (let i = 2; i <= 6; i++) {
    await waitFor(() => netJsonPid(s) === helper, 5000);
    process.kill(helper, 'SIGKILL');
    if (i <= 5) helper = await helperUnder(n.pid!, 'slirp4netns', helper);
  }
  t.equal(await exited(n), 1, `rk-net gave up: status 1 (${err()})`);
  t.match(err(), /^rk-net: error: slirp4netns died \(killed by SIGKILL\): it was restarted 5 times within 30 s: giving up on it; CMD keeps running without network\n$/m);
  t.notMatch(err(), /error: .*\n.*error: /, 'one error line');
  t.ok(existsSync(`/proc/${child}`), 'CMD still running');
  process.kill(child, 'SIGKILL');
  await exited(u);
});
