// rk-portfwd ADDRESS1 ADDRESS2 beside real socat, line by line, both run as
// the test user: the same bytes (TCP <-> UNIX socket files), half-close,
// one-shot vs fork, the socket file's mode and its removal at exit, an
// existing file at the path (refused unless unlink-early), a refused target,
// exit statuses; then the bad input socat lets through or we refuse.
import t, { type Test } from 'tap';
import { chmodSync, existsSync, lstatSync, readFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { attackerUser, isRoot, needsRoot, run, tempDir, waitFor } from './harness.js';
import { exchange, fdCount, freePort, pattern, spawnTracked, type Proc } from './net-helpers.js';

const haveSocat = existsSync('/usr/bin/socat');
const TOOLS = ['socat', 'rk-portfwd'] as const;
type Tool = (typeof TOOLS)[number];

/** A server (this process) answering each connection with what it read, after the client's half-close. */
async function recorder(t: Test, where: string | number): Promise<Server> {
  const s = createServer((c) => {
    const parts: Buffer[] = [];
    c.on('error', () => {});
    c.on('data', (d) => parts.push(d));
    c.on('end', () => c.end(Buffer.concat(parts)));
  });
  await new Promise<void>((r) => (typeof where === 'string' ? s.listen(where, r) : s.listen(where, '127.0.0.1', r)));
  if (typeof where === 'string') chmodSync(where, 0o777);
  t.teardown(() => new Promise((r) => s.close(r)));
  return s;
}

function listening(where: string | number): Promise<void> {
  return waitFor(() => {
    if (typeof where === 'string') return existsSync(where);
    return run(['sh', '-c', `ss -Hltn 'sport = :${where}' | grep -q .`]).code === 0;
  });
}

function tool(t: Test, which: Tool, a1: string, a2: string): Proc {
  return spawnTracked(t, [which, a1, a2]);
}

t.test('TCP-LISTEN,fork -> UNIX-CONNECT: the same bytes both ways through socat and rk-portfwd', { skip: !haveSocat && 'socat is not installed' }, async (t) => {
  const dir = tempDir('rk-socat-');
  const sock = join(dir, 'target.sock');
  await recorder(t, sock);
  const data = pattern(4 << 20, 3);
  for (const which of TOOLS) {
    const port = await freePort();
    const p = tool(t, which, `TCP-LISTEN:${port},fork,reuseaddr,bind=127.0.0.1`, `UNIX-CONNECT:${sock}`);
    await listening(port);
    for (let i = 0; i < 2; i++) {
      const got = await exchange(port, data);
      t.ok(Buffer.isBuffer(got) && got.equals(data), `${which}: 4 MiB through and back after half-close (connection ${i + 1}: fork serves more than one)`);
    }
    process.kill(-p.pid, 'SIGTERM');
    await p.exited;
  }
});

t.test('UNIX-LISTEN,mode=0660 -> TCP without fork: one connection, socket file mode, removed at exit, exit 0', { skip: !haveSocat && 'socat is not installed' }, async (t) => {
  const dir = tempDir('rk-socat-');
  const srv = await recorder(t, 0);
  const port = (srv.address() as { port: number }).port;
  for (const which of TOOLS) {
    const path = join(dir, `${which}.sock`);
    const p = tool(t, which, `UNIX-LISTEN:${path},mode=0660`, `TCP:127.0.0.1:${port}`);
    await listening(path);
    t.equal(lstatSync(path).mode & 0o777, 0o660, `${which}: the socket file is 0660`);
    if (isRoot) chmodSync(dir, 0o755);
    const got = await exchange(path, Buffer.from('one-shot'));
    t.equal(String(got), 'one-shot', `${which}: bytes through`);
    t.equal(await p.exited, 0, `${which}: exits 0 after the one connection`);
    t.notOk(existsSync(path), `${which}: the socket file is removed`);
  }
});

t.test('an existing file at the socket path: refused (exit 1, file kept) unless unlink-early', { skip: !haveSocat && 'socat is not installed' }, async (t) => {
  const dir = tempDir('rk-socat-');
  for (const which of TOOLS) {
    const path = join(dir, `${which}.sock`);
    run(['sh', '-c', `echo keep > ${path}`]);
    const r = run([which, `UNIX-LISTEN:${path},fork`, 'TCP:127.0.0.1:9'], { timeout: 10_000 });
    t.equal(r.code, 1, `${which}: exit 1`);
    t.equal(readFileSync(path, 'utf8'), 'keep\n', `${which}: the file is untouched`);
    const p = tool(t, which, `UNIX-LISTEN:${path},fork,unlink-early`, 'TCP:127.0.0.1:9');
    await waitFor(() => lstatSync(path).isSocket());
    t.pass(`${which}: unlink-early replaces it`);
    process.kill(-p.pid, 'SIGTERM');
    t.equal(await p.exited, which === 'socat' ? 143 : 0, `${which}: exit status at SIGTERM (socat 143, rk-portfwd 0: documented)`);
    t.notOk(existsSync(path), `${which}: the socket file is removed at SIGTERM`);
  }
});

t.test('a refused target, no fork: the client is closed, exit 1 for both', { skip: !haveSocat && 'socat is not installed' }, async (t) => {
  const dead = await freePort();
  for (const which of TOOLS) {
    const port = await freePort();
    const p = tool(t, which, `TCP-LISTEN:${port},reuseaddr`, `TCP:127.0.0.1:${dead}`);
    await listening(port);
    const got = await exchange(port, Buffer.from('x'));
    t.ok(got === 'ECONNRESET' || (Buffer.isBuffer(got) && got.length === 0), `${which}: the client gets no bytes (${String(got)})`);
    t.equal(await p.exited, 1, `${which}: exit 1`);
  }
});

t.test('bad input: refused with one line naming the problem, nothing left behind', async (t) => {
  const dir = tempDir('rk-socat-');
  const cases: Array<[string[], RegExp, number]> = [
    [['TCP-LISTEN:8080,su=nobody', 'TCP:127.0.0.1:80'], /su= is refused/, 2],
    [['TCP-LISTEN:8080,nodelay', 'TCP:127.0.0.1:80'], /option nodelay is not supported/, 2],
    [['SCTP-LISTEN:8080', 'TCP:127.0.0.1:80'], /address type SCTP-LISTEN is not supported/, 2],
    [['TCP:127.0.0.1:80', 'TCP-LISTEN:8080'], /ADDRESS1 must be a listening address/, 2],
    [['-v', 'TCP-LISTEN:8080', 'TCP:127.0.0.1:80'], /socat option -v is not supported/, 2],
    [['TCP-LISTEN:8080'], /takes two addresses/, 2],
    [['TCP-LISTEN:99999', 'TCP:127.0.0.1:80'], /not a port number/, 2],
    [['UDP-LISTEN:8080', 'UDP:127.0.0.1:53'], /UDP without fork .* add ,fork/, 2],
    [['TCP-LISTEN:8080,fork', 'UDP:127.0.0.1:53'], /UDP forwards to UDP only/, 2],
    [[`UNIX-LISTEN:${dir}`, 'TCP:127.0.0.1:80'], /is a directory/, 1],
    [[`UNIX-LISTEN:${dir}/${'x'.repeat(120)}`, 'TCP:127.0.0.1:80'], /must fit sun_path/, 1],
    [[`TCP-LISTEN:8080`, `UNIX-CONNECT:/${'y'.repeat(120)}`], /must fit sun_path/, 2],
    [[`UNIX-LISTEN:${dir}/given.sock,user=root`, 'TCP:127.0.0.1:80'], /cannot give the socket file to user root \(EPERM\)/, 1],
  ];
  for (const [argv, re, code] of cases) {
    const r = run(['rk-portfwd', ...argv], { timeout: 10_000 });
    t.equal(r.code, code, `${argv.join(' ')}: exit ${code}`);
    t.match(r.stderr, re, `${argv.join(' ')}: the reason`);
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  }
  t.notOk(existsSync(join(dir, 'given.sock')), 'no socket file left behind by a refused user=');
});

t.test('a symlink planted at the socket path by another user is neither followed nor replaced', { skip: needsRoot }, async (t) => {
  const dir = tempDir('rk-socat-');
  chmodSync(dir, 0o1777);
  const victim = join(dir, 'victim');
  run(['sh', '-c', `echo mine > ${victim}`]);
  const link = join(dir, 'planted.sock');
  run(['ln', '-s', victim, link], { user: attackerUser });
  for (const extra of ['', ',unlink-early']) {
    const r = run(['rk-portfwd', `UNIX-LISTEN:${link},mode=0666${extra}`, 'TCP:127.0.0.1:9'], { timeout: 10_000 });
    t.equal(r.code, 1, `${extra || 'plain'}: exit 1`);
    t.match(r.stderr, extra ? /belongs to uid|does not remove|cannot listen/ : /exists \(a symlink \(never followed\)/);
    t.ok(lstatSync(link).isSymbolicLink(), 'the symlink is still there');
    t.equal(readFileSync(victim, 'utf8'), 'mine\n', 'its target untouched');
  }
});

t.test('a target that is not a socket; a client that never sends is closed by -T', async (t) => {
  const dir = tempDir('rk-socat-');
  const file = join(dir, 'plain');
  run(['sh', '-c', `: > ${file}`]);
  const port = await freePort();
  const p = tool(t, 'rk-portfwd', `TCP-LISTEN:${port},fork`, `UNIX-CONNECT:${file}`);
  await listening(port);
  const got = await exchange(port, Buffer.from('x'));
  t.ok(got === 'ECONNRESET' || (Buffer.isBuffer(got) && got.length === 0), `closed (${String(got)})`);
  t.ok(p.isRunning(), 'fork: still serving');
  const srv = await recorder(t, 0);
  const port2 = await freePort();
  const q = spawnTracked(t, ['rk-portfwd', '-T', '1', `TCP-LISTEN:${port2},fork`, `TCP:127.0.0.1:${(srv.address() as { port: number }).port}`]);
  await listening(port2);
  const silent = connect(port2, '127.0.0.1');
  silent.on('error', () => {});
  const t0 = Date.now();
  await new Promise((r) => silent.on('close', r));
  t.ok(Date.now() - t0 < 4000, 'the silent client is closed after about 1 s');
  await waitFor(() => /idle for 1000 ms/.test(q.stderr()));
  t.pass('one log line');
});

t.test('--state-dir: UNIX-CONNECT to a socket file that exists only in the namespace\'s mount namespace', { skip: !haveSocat && 'socat is not installed' }, async (t) => {
  const dir = tempDir('rk-socat-ns-');
  const state = join(tempDir('rk-socat-state-'), 's');
  const inside = spawnTracked(t, ['rk-unshare', '-r', '--mount', '--net', '--state-dir', state, '--', 'sh', '-c',
    `mount -t tmpfs none ${dir} && exec socat UNIX-LISTEN:${dir}/app.sock,fork EXEC:cat`]);
  await waitFor(() => existsSync(join(state, 'child_pid')) || !inside.isRunning());
  const port = await freePort();
  const p = spawnTracked(t, ['rk-portfwd', '--state-dir', state, `TCP-LISTEN:${port},fork,bind=127.0.0.1`, `UNIX-CONNECT:${dir}/app.sock`]);
  await listening(port);
  let got: Buffer | string = '';
  for (let i = 0; i < 50 && !(Buffer.isBuffer(got) && got.length > 0); i++) {
    got = await exchange(port, Buffer.from('inside?'));
    if (!(Buffer.isBuffer(got) && got.length > 0)) await new Promise((r) => setTimeout(r, 100));
  }
  t.equal(String(got), 'inside?', 'bytes through the socket file inside');
  t.notOk(existsSync(join(dir, 'app.sock')), 'the path does not exist on the host');
  t.ok(p.isRunning(), 'rk-portfwd serves on');
});

t.test('--proxy-protocol=v1 and --max-connections through the command (-p and socat lines)', async (t) => {
  const srv = await recorder(t, 0);
  const target = (srv.address() as { port: number }).port;
  const [a, b] = [await freePort(), await freePort()];
  spawnTracked(t, ['rk-portfwd', '--proxy-protocol=v1', '-p', `127.0.0.1:${a}:127.0.0.1:${target}/tcp`]);
  spawnTracked(t, ['rk-portfwd', '--proxy-protocol=v1', `TCP-LISTEN:${b},fork,bind=127.0.0.1`, `TCP:127.0.0.1:${target}`]);
  for (const port of [a, b]) {
    await listening(port);
    t.match(String(await exchange(port, Buffer.from('x'))), new RegExp(`^PROXY TCP4 127\\.0\\.0\\.1 127\\.0\\.0\\.1 \\d+ ${port}\\r\\nx$`), `port ${port}: header, then the bytes`);
  }
  const c = await freePort();
  const q = spawnTracked(t, ['rk-portfwd', `TCP-LISTEN:${c},fork,bind=127.0.0.1,max-children=1`, `TCP:127.0.0.1:${target}`]);
  await listening(c);
  const held = connect(c, '127.0.0.1');
  held.on('error', () => {});
  await new Promise((r) => held.on('connect', r));
  await new Promise((r) => setTimeout(r, 100));
  t.equal(await exchange(c, Buffer.from('x')), 'ECONNRESET', 'the second client is reset');
  await waitFor(() => /1 connections \(the cap per port, max-children\)/.test(q.stderr()));
  t.pass('one log line names the cap');
  held.destroy();
});

t.test('no fd growth: 300 connections TCP -> UNIX socket file, fds back where they were', async (t) => {
  const dir = tempDir('rk-socat-');
  const sock = join(dir, 'fd.sock');
  await recorder(t, sock);
  const port = await freePort();
  const p = tool(t, 'rk-portfwd', `TCP-LISTEN:${port},fork,bind=127.0.0.1`, `UNIX-CONNECT:${sock}`);
  await listening(port);
  await exchange(port, Buffer.from('warm'));
  const before = fdCount(p.pid);
  for (let round = 0; round < 10; round++) {
    const got = await Promise.all(Array.from({ length: 30 }, (_, i) => exchange(port, Buffer.from(`c${round}.${i}`))));
    t.ok(got.every((g, i) => String(g) === `c${round}.${i}`), `round ${round}: every connection's bytes`);
  }
  await new Promise((r) => setTimeout(r, 300));
  t.ok(fdCount(p.pid) <= before + 8, `fds ${before} before, ${fdCount(p.pid)} after (spare pipes at most)`);
});
