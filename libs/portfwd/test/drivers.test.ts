import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError } from '@rk/api';
import { BuiltinDriver, Slirp4netnsDriver, closeSharedRelay } from '../src/index.js';

t.teardown(() => closeSharedRelay());

function echoOnce(port: number, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(port, '127.0.0.1');
    let out = '';
    c.on('connect', () => c.end(data));
    c.on('data', (d) => (out += d));
    c.on('close', () => resolve(out));
    c.on('error', reject);
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

t.test('builtin driver, targets on the host: ids, conflicts, removal, bytes', async (t) => {
  const echo = createServer((s) => s.pipe(s)).listen(0, '127.0.0.1');
  await new Promise((r) => echo.once('listening', r));
  t.teardown(() => echo.close());
  const target = (echo.address() as { port: number }).port;
  const d = new BuiltinDriver();
  t.teardown(() => d.close());
  const port = await freePort();
  const a = await d.add({ proto: 'tcp', parentIP: '127.0.0.1', parentPort: port, childIP: '127.0.0.1', childPort: target });
  t.equal(a.id, 1);
  t.equal(await echoOnce(port, 'hello'), 'hello', 'bytes through');
  await t.rejects(d.add({ proto: 'tcp', parentIP: '127.0.0.1', parentPort: port, childPort: 1 }), new ApiError(400, 'conflict with ID 1'));
  await t.rejects(d.add({ proto: 'sctp', parentPort: port + 1, childPort: 1 }), { status: 400, message: /unsupported proto: "sctp"/ });
  const b = await d.add({ proto: 'udp', parentIP: '127.0.0.1', parentPort: port, childPort: target });
  t.equal(b.id, 2, 'udp on the same port: no conflict');
  t.strictSame(d.list().map((s) => s.id), [1, 2]);
  await d.remove(1);
  await t.rejects(echoOnce(port, 'x'), { code: 'ECONNREFUSED' }, 'removed: nothing listens');
  await t.rejects(d.remove(1), new ApiError(400, 'unknown id: 1'));
  t.strictSame(d.info(), { driver: 'builtin', protos: ['tcp', 'tcp4', 'tcp6', 'udp', 'udp4', 'udp6', 'unix'] });
});

t.test('slirp4netns driver speaks add_hostfwd / remove_hostfwd', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rk-pf-slirp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const sock = join(dir, 'api.sock');
  const seen: unknown[] = [];
  let next = 7;
  const fake = createServer((c) => {
    let text = '';
    c.on('data', (d) => (text += d));
    c.on('end', () => {
      const req = JSON.parse(text) as { execute: string; arguments: Record<string, unknown> };
      seen.push(req);
      if (req.execute === 'add_hostfwd' && req.arguments.host_port === 1) c.end('{"error":{"desc":"bad request: add_hostfwd: slirp_add_hostfwd failed"}}');
      else if (req.execute === 'add_hostfwd') c.end(JSON.stringify({ return: { id: next++ } }));
      else c.end('{"return":{}}');
    });
  }).listen(sock);
  await new Promise((r) => fake.once('listening', r));
  t.teardown(() => fake.close());
  const d = new Slirp4netnsDriver({ apiSocket: sock });
  const st = await d.add({ proto: 'tcp4', parentIP: '127.0.0.1', parentPort: 8080, childPort: 80 });
  t.equal(st.id, 7, "slirp4netns's id");
  t.strictSame(seen[0], { execute: 'add_hostfwd', arguments: { proto: 'tcp', host_port: 8080, guest_addr: '10.0.2.100', guest_port: 80, host_addr: '127.0.0.1' } });
  await t.rejects(d.add({ proto: 'tcp', parentPort: 1, childPort: 80 }), { status: 400, message: /slirp4netns refused the port: bad request: add_hostfwd: slirp_add_hostfwd failed/ });
  await t.rejects(d.add({ proto: 'tcp6', parentPort: 2, childPort: 80 }), { status: 400, message: /IPv4 only/ });
  await t.rejects(d.add({ proto: 'unix', parentPath: '/tmp/x.sock', parentPort: 0, childPort: 80 }), { status: 400, message: /proto unix \(a socket file\) is not supported by the slirp4netns port driver.*--port-driver=builtin/ });
  await t.rejects(d.add({ proto: 'tcp', parentPort: 4, childPort: 80, proxyProtocol: 'v1' }), { status: 400, message: /proxy-protocol is not supported by the slirp4netns port driver/ });
  await t.rejects(d.add({ proto: 'udp', parentPort: 3, childIP: 'fd00::1', childPort: 80 }), { status: 400, message: /IPv4 addresses only/ });
  await t.rejects(d.add({ proto: 'tcp', parentIP: '127.0.0.1', parentPort: 8080, childPort: 81 }), new ApiError(400, 'conflict with ID 7'));
  await d.remove(7);
  t.strictSame(seen.at(-1), { execute: 'remove_hostfwd', arguments: { id: 7 } });
  await t.rejects(d.remove(7), new ApiError(400, 'unknown id: 7'));
  t.strictSame(d.info(), { driver: 'slirp4netns', protos: ['tcp', 'tcp4', 'udp', 'udp4'], disallowLoopbackChildIP: true });
  const gone = new Slirp4netnsDriver({ apiSocket: join(dir, 'nothing.sock') });
  await t.rejects(gone.add({ proto: 'tcp', parentPort: 9, childPort: 9 }), { status: 500, message: /cannot reach slirp4netns's API socket .* \(ENOENT\): is slirp4netns running with --api-socket\?/ });
});
