// Socket files in -p specs (proto unix) and the per-port PROXY protocol
// option, as a user runs them: rootlesskit -p, rootlessctl add-ports /
// list-ports / remove-ports, the ports API, rk-portfwd --state-dir and
// --netns-pid. The server inside is fixtures/proxy-backend.mjs: it answers
// "HEADER|BYTES" (the PROXY header it read, or "none"), on a TCP port and on
// a socket file under a tmpfs mounted inside (so the file exists only in the
// namespace's mount namespace). Then the bad input: one line, non-zero exit,
// nothing left behind.
import t, { type Test } from 'tap';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRoot, repoRoot, run, tempDir, waitFor } from './harness.js';
import { apiCall, exchange, freePorts, pattern, spawnTracked, type Proc } from './net-helpers.js';

const BACKEND = join(repoRoot, 'test/src/fixtures/proxy-backend.mjs');
const haveSlirp = existsSync('/usr/bin/slirp4netns');

/** A private directory of the test user with "in/" (where the namespace mounts its tmpfs). */
function workDir(): { dir: string; inner: string } {
  const dir = tempDir('rk-unix-');
  const inner = join(dir, 'in');
  run(['mkdir', inner]);
  return { dir, inner };
}

/** The shell line run inside: a tmpfs over `inner`, then the backend on TCP 7900 and inner/srv.sock. */
const backendInside = (inner: string) => ['sh', '-c', `mount -t tmpfs none ${inner} && exec node ${BACKEND} 7900 ${inner}/srv.sock`];

/** "HEADER|BYTES" the backend answered (or the error code) for payload sent to a socket file or a TCP port. */
async function ask(to: string | number, payload: string, host = '127.0.0.1'): Promise<string> {
  return String(await exchange(to, payload, host));
}

/** Local port of a connection the relay made is not known to the test: the v1/v2 client port is matched, the rest exact. */
const proxied = (v: 'v1' | 'v2', host: string, port: number, payload: string) => new RegExp(`^${v} ${host.replace(/\./g, '\\.')} \\d+ ${host.replace(/\./g, '\\.')} ${port}\\|${payload}$`);

async function kitWithPorts(t: Test, state: string, specs: string[], inner: string): Promise<Proc> {
  const kit = spawnTracked(t, ['rootlesskit', '--debug', '--state-dir', state, '--net=none', '--port-driver=builtin', ...specs.flatMap((s) => ['-p', s]), ...backendInside(inner)]);
  await waitFor(() => kit.stdout().includes('ready') || !kit.isRunning(), 20_000);
  t.ok(kit.isRunning(), kit.isRunning() ? 'rootlesskit runs' : kit.stderr());
  return kit;
}

t.test('rootlesskit -p: a host socket file to a port inside, a host port to a socket file only inside, per-port proxy-protocol', async (t) => {
  const { dir, inner } = workDir();
  const base = await freePorts(5);
  const state = join(dir, 'state');
  const kit = await kitWithPorts(t, state, [
    `[::1]:${base + 4}:${inner}/srv.sock/unix`,
    `${dir}/app.sock:7900/unix`,
    `127.0.0.1:${base}:${inner}/srv.sock/unix`,
    `127.0.0.1:${base + 1}:7900/tcp,proxy-protocol=v1`,
    `127.0.0.1:${base + 2}:7900/tcp`,
    `127.0.0.1:${base + 3}:${inner}/srv.sock/unix,proxy-protocol=v2`,
  ], inner);
  const data = pattern(2 << 20, 21);
  const big = await exchange(`${dir}/app.sock`, data);
  t.ok(Buffer.isBuffer(big) && big.subarray(0, 5).toString() === 'none|' && big.subarray(5).equals(data), 'host socket file -> TCP 7900 inside: 2 MiB there and back, no header');
  t.ok(lstatSync(`${dir}/app.sock`).isSocket(), 'the host socket file is a socket');
  t.notOk(existsSync(`${inner}/srv.sock`), 'srv.sock does not exist on the host (only in the namespace\'s tmpfs)');
  t.equal(await ask(base, 'to-the-file'), 'none|to-the-file', 'host TCP port -> socket file inside the mount namespace: bytes both ways');
  t.equal(await ask(base + 4, 'v6', '::1'), 'none|v6', 'the same from [::1]');
  t.match(await ask(base + 1, 'pp'), proxied('v1', '127.0.0.1', base + 1, 'pp'), 'proxy-protocol=v1: the backend reads the client\'s address in a v1 header');
  t.equal(await ask(base + 2, 'plain'), 'none|plain', 'the port without the option: no header on the same backend');
  t.match(await ask(base + 3, 'v2'), proxied('v2', '127.0.0.1', base + 3, 'v2'), 'proxy-protocol=v2 to a socket file inside: the client\'s address in a v2 header');
  process.kill(kit.pid, 'SIGTERM');
  await kit.exited;
  t.notOk(existsSync(`${dir}/app.sock`), 'the host socket file is gone after rootlesskit exits');
  t.notOk(existsSync(state), 'the state dir is gone');
});

t.test('rootlessctl add-ports / list-ports / remove-ports with socket files; the API\'s JSON fields and refusals', async (t) => {
  const { dir, inner } = workDir();
  const base = await freePorts(2);
  const state = join(dir, 'state');
  const sock = join(state, 'api.sock');
  const kit = await kitWithPorts(t, state, [`127.0.0.1:${base}:7900/tcp`], inner);
  const add = run(['rootlessctl', '--socket', sock, 'add-ports', `${dir}/added.sock:7900/unix`, `127.0.0.1:${base + 1}:${inner}/srv.sock/unix,proxy-protocol=v1`]);
  t.equal(add.code, 0, add.stderr);
  t.equal(add.stdout, '2\n3\n', 'add-ports prints the new IDs');
  t.equal(await ask(`${dir}/added.sock`, 'a'), 'none|a', 'the added socket file carries bytes');
  t.match(await ask(base + 1, 'b'), proxied('v1', '127.0.0.1', base + 1, 'b'), 'the added port to a socket file inside, with its v1 header');
  const json = run(['rootlessctl', '--socket', sock, 'list-ports', '--json']);
  t.equal(json.stdout,
    `{"id":1,"spec":{"proto":"tcp","parentIP":"127.0.0.1","parentPort":${base},"childPort":7900}}\n` +
    `{"id":2,"spec":{"proto":"unix","childPort":7900,"parentPath":"${dir}/added.sock"}}\n` +
    `{"id":3,"spec":{"proto":"unix","parentIP":"127.0.0.1","parentPort":${base + 1},"childPath":"${inner}/srv.sock","proxyProtocol":"v1"}}\n`,
    'list-ports --json: upstream\'s fields, then parentPath / childPath / proxyProtocol');
  const table = run(['rootlessctl', '--socket', sock, 'list-ports']).stdout;
  t.match(table, new RegExp(`^2 +unix +${dir}/added\\.sock +7900 +$`, 'm'), 'the table: a socket file in its side\'s address column');
  t.match(table, new RegExp(`^3 +unix +127\\.0\\.0\\.1 +${base + 1} +${inner}/srv\\.sock +$`, 'm'));

  const same = run(['rootlessctl', '--socket', sock, 'add-ports', `${dir}/added.sock:7901/unix`]);
  t.equal(same.code, 1);
  t.equal(same.stderr, 'rootlessctl: error: conflict with ID 2 (the same socket file)\n');
  const rm = run(['rootlessctl', '--socket', sock, 'remove-ports', '2', '3']);
  t.equal(rm.code, 0, rm.stderr);
  t.notOk(existsSync(`${dir}/added.sock`), 'DELETE removes the host socket file');
  t.equal(await ask(base + 1, 'x'), 'ECONNREFUSED', 'the removed TCP port no longer listens');

  if (isRoot) {
    // the API itself (root may connect to the user's api.sock): 400 with a JSON message, nothing made
    run(['sh', '-c', `echo keep > ${dir}/exists`]);
    const cases: Array<[object, RegExp]> = [
      [{ proto: 'unix', parentPath: 'rel.sock', childPort: 7900 }, /^invalid parentPath: "rel\.sock" is not an absolute path$/],
      [{ proto: 'unix', parentPath: `${dir}/${'x'.repeat(110)}`, childPort: 7900 }, /more than a socket path holds \(107\): use a shorter path/],
      [{ proto: 'unix', parentPath: `${dir}/exists`, childPort: 7900 }, /exists \(a file\): remove it \(or choose another path\)/],
      [{ proto: 'unix', parentPath: `${dir}/nodir/x.sock`, childPort: 7900 }, /cannot listen on .*nodir\/x\.sock \(ENOENT\): the directory .*nodir does not exist: create it first/],
      [{ proto: 'unix', parentPath: `${dir}/c.sock`, parentPort: 9, childPort: 7900 }, /give parentPath or parentIP\/parentPort, not both/],
      [{ proto: 'unix', parentPort: base + 1, childPort: 7900 }, /proto unix needs parentPath or childPath/],
      [{ proto: 'tcp', parentPath: `${dir}/d.sock`, childPort: 7900 }, /parentPath needs proto "unix"/],
      [{ proto: 'tcp', parentPort: base + 1, childPort: 7900, proxyProtocol: 'v3' }, /invalid proxyProtocol: "v3" \(v1, v2 or none\)/],
    ];
    for (const [body, re] of cases) {
      const r = await apiCall(sock, 'POST', '/v1/ports', JSON.stringify(body));
      t.equal(r.status, 400, `POST ${JSON.stringify(body).slice(0, 70)}: 400`);
      t.match(JSON.parse(r.text), { message: re });
    }
    t.equal(readFileSync(`${dir}/exists`, 'utf8'), 'keep\n', 'the existing file is untouched');
    t.strictSame(readdirSync(dir).sort(), ['exists', 'in', 'state'], 'no socket file left behind by a refused port');
    const list = await apiCall(sock, 'GET', '/v1/ports');
    t.equal(JSON.parse(list.text).length, 1, 'only the -p port is left');
  }
  process.kill(kit.pid, 'SIGTERM');
  await kit.exited;
});

t.test('rk-portfwd --state-dir and --netns-pid with socket files on either side', async (t) => {
  const { dir, inner } = workDir();
  const state = join(tempDir('rk-unix-state-'), 's');
  const ns = spawnTracked(t, ['rk-unshare', '-r', '--mount', '--net', '--state-dir', state, '--', ...backendInside(inner)]);
  await waitFor(() => ns.stdout().includes('ready') || !ns.isRunning(), 20_000);
  t.ok(ns.isRunning(), ns.isRunning() ? 'the namespace runs' : ns.stderr());
  const base = await freePorts(2);
  const specs = [`${dir}/host.sock:7900/unix`, `127.0.0.1:${base}:${inner}/srv.sock/unix`, `${dir}/both.sock:${inner}/srv.sock/unix,proxy-protocol=v2`];
  const p = spawnTracked(t, ['rk-portfwd', '--debug', '--state-dir', state, ...specs.flatMap((s) => ['-p', s])]);
  await waitFor(() => (p.stderr().match(/ listens on /g) ?? []).length >= 3 || !p.isRunning(), 20_000);
  t.ok(p.isRunning(), p.isRunning() ? 'rk-portfwd runs' : p.stderr());
  t.equal(await ask(`${dir}/host.sock`, 'h'), 'none|h', '--state-dir: host socket file -> TCP port inside');
  t.equal(await ask(base, 'i'), 'none|i', '--state-dir: host TCP port -> socket file inside the mount namespace');
  t.equal(await ask(`${dir}/both.sock`, 'j'), 'v2 LOCAL|j', '--state-dir: socket file to socket file; a unix client has no address: v2 LOCAL');
  const list = run(['rootlessctl', '--socket', join(state, 'api.sock'), 'list-ports', '--json']);
  t.match(list.stdout, `"proto":"unix","parentPath":"${dir}/both.sock","childPath":"${inner}/srv.sock","proxyProtocol":"v2"`);
  process.kill(p.pid, 'SIGTERM');
  t.equal(await p.exited, 0, 'rk-portfwd exits 0 at SIGTERM');
  t.notOk(existsSync(`${dir}/host.sock`) || existsSync(`${dir}/both.sock`), 'its socket files are removed');

  const pid = readFileSync(join(state, 'child_pid'), 'utf8');
  const q = spawnTracked(t, ['rk-portfwd', '--debug', '--netns-pid', pid, '-p', `${dir}/np.sock:7900/unix,proxy-protocol=v1`, '-p', `127.0.0.1:${base + 1}:7900/tcp,proxy-protocol=v1`]);
  await waitFor(() => (q.stderr().match(/ listens on /g) ?? []).length >= 2 || !q.isRunning(), 20_000);
  t.equal(await ask(`${dir}/np.sock`, 'k'), 'v1 UNKNOWN|k', '--netns-pid: a unix client under v1 is "PROXY UNKNOWN"');
  t.match(await ask(base + 1, 'l'), proxied('v1', '127.0.0.1', base + 1, 'l'), '--netns-pid: TCP with its v1 header');
  process.kill(q.pid, 'SIGTERM');
  t.equal(await q.exited, 0);
  t.notOk(existsSync(`${dir}/np.sock`), 'removed at exit');
});

t.test('bad unix specs and options: one line, non-zero exit, nothing left behind', async (t) => {
  const { dir } = workDir();
  run(['sh', '-c', `echo keep > ${dir}/exists`]);
  const state = join(dir, 'state');
  const parse: Array<[string, RegExp]> = [
    ['8080:80/unix', /proto unix needs an absolute socket file path as the first or the last part; expected PARENTPATH:/],
    ['rel.sock:80/unix', /proto unix needs an absolute socket file path/],
    [`${dir}/${'x'.repeat(110)}.sock:80/unix`, /has \d+ bytes, more than a socket path holds \(107\): use a shorter path/],
    ['/a.sock:/b.sock:/c.sock/unix', /at most two socket file paths/],
    ['8080:80/tcp,proxy-protocol=v3', /proxy-protocol=v3: give v1, v2 or none/],
    ['53:53/udp,proxy-protocol=v1', /proxy-protocol applies to streams \(tcp, unix\), not udp/],
  ];
  const made: Array<[string, RegExp]> = [
    [`${dir}/exists:7900/unix`, /exists \(a file\): remove it \(or choose another path\) and add the port again/],
    [`${dir}/in:7900/unix`, /in is a directory: give the path of the socket file to create/],
    [`${dir}/nodir/x.sock:7900/unix`, /the directory .*nodir does not exist: create it first/],
  ];
  for (const [spec, re] of [...parse, ...made]) {
    const kit = run(['rootlesskit', '--state-dir', state, '--net=none', '--port-driver=builtin', '-p', spec, 'sleep', '30'], { timeout: 30_000 });
    t.equal(kit.code, 1, `rootlesskit -p ${spec.slice(0, 60)}: exit 1`);
    t.match(kit.stderr, re);
    t.equal(kit.stderr.trim().split('\n').length, 1, 'one line');
    const pf = run(['rk-portfwd', '-p', spec], { timeout: 30_000 });
    t.equal(pf.code, parse.some(([s]) => s === spec) ? 2 : 1, `rk-portfwd -p ${spec.slice(0, 60)}: exit ${pf.code}`);
    t.match(pf.stderr, re);
    t.equal(pf.stderr.trim().split('\n').length, 1, 'one line');
    t.strictSame(readdirSync(dir).sort(), ['exists', 'in'], 'nothing left behind (no socket file, no state dir)');
  }
  t.equal(readFileSync(`${dir}/exists`, 'utf8'), 'keep\n', 'the existing file is untouched');
});

t.test('--port-driver=slirp4netns cannot forward a socket file nor write a PROXY header: refused before anything starts', { skip: !haveSlirp && 'slirp4netns not installed' }, async (t) => {
  const { dir } = workDir();
  const state = join(dir, 'state');
  for (const spec of [`${dir}/s.sock:80/unix`, '127.0.0.1:8080:80/tcp,proxy-protocol=v2']) {
    const kit = run(['rootlesskit', '--state-dir', state, '--net=slirp4netns', '--port-driver=slirp4netns', '-p', spec, 'sleep', '30'], { timeout: 30_000 });
    t.equal(kit.code, 1, `rootlesskit: exit 1 (${spec})`);
    const errors = kit.stderr.split('\n').filter((l) => l.includes('error'));
    t.equal(errors.length, 1, 'one error line');
    t.match(errors[0], /is not supported by the slirp4netns port driver.*: use --port-driver=builtin$/);
    const pf = run(['rk-portfwd', '--port-driver=slirp4netns', '--slirp4netns-api-socket', `${dir}/none.sock`, '-p', spec]);
    t.equal(pf.code, 2, `rk-portfwd: exit 2 (${spec})`);
    t.match(pf.stderr, /^rk-portfwd: error: port spec .* is not supported by the slirp4netns port driver.*: use --port-driver=builtin\n$/);
    t.strictSame(readdirSync(dir).sort(), ['in'], 'nothing left behind');
  }
});
