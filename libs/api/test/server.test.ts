import t from 'tap';
import { createServer as createHttp, request } from 'node:http';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RkError } from '@rk/cli';
import {
  API_VERSION,
  ApiClient,
  ApiError,
  startApiServer,
  validatePortSpec,
  type Info,
  type PortManager,
  type PortSpec,
  type PortStatus,
} from '../src/index.js';

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function raw(socketPath: string, method: string, path: string, body?: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, host: 'rootlesskit', agent: false }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** An in-memory port driver, as a real one would behave towards the API. */
class FakePorts implements PortManager {
  ports = new Map<number, PortStatus>();
  next = 1;
  failNext?: Error;
  list(): PortStatus[] {
    return [...this.ports.values()];
  }
  async add(spec: PortSpec): Promise<PortStatus> {
    if (this.failNext) throw this.failNext;
    validatePortSpec(spec, this.ports.values());
    const st = { id: this.next++, spec };
    this.ports.set(st.id, st);
    return st;
  }
  async remove(id: number): Promise<void> {
    if (!this.ports.delete(id)) throw new ApiError(400, `unknown id: ${id}`);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'rk-api-test-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const hostInfo: Info = { apiVersion: API_VERSION, version: '0.1.0', stateDir: dir, childPID: 4242 };
const slirpInfo: Info = {
  ...hostInfo,
  networkDriver: { driver: 'slirp4netns', dns: ['10.0.2.3'], childIP: '10.0.2.100' },
  portDriver: { driver: 'builtin', protos: ['tcp', 'tcp4', 'tcp6', 'udp', 'udp4', 'udp6'] },
};

t.test('without a port driver (like --net=host)', async (t) => {
  const sock = join(dir, 'host.sock');
  writeFileSync(sock, ''); // not a socket: refused
  await t.rejects(startApiServer({ socketPath: sock, info: () => hostInfo }), /exists and is not a socket/);
  rmSync(sock);
  const srv = await startApiServer({ socketPath: sock, info: () => ({ ...hostInfo, apiVersion: '' }) });
  t.teardown(() => srv.close());

  const info = await raw(sock, 'GET', '/v1/info');
  t.equal(info.status, 200);
  t.equal(info.headers['content-type'], 'application/json');
  t.equal(info.body, `{"apiVersion":"1.1.1","version":"0.1.0","stateDir":${JSON.stringify(dir)},"childPID":4242}`,
    'only the four fields, no trailing newline, apiVersion defaulted');

  for (const [method, path] of [['GET', '/v1/ports'], ['POST', '/v1/ports'], ['DELETE', '/v1/ports/1'], ['DELETE', '/v1/ports/abc']]) {
    const r = await raw(sock, method!, path!, method === 'POST' ? '{"proto":"tcp","parentPort":1,"childPort":1}' : undefined);
    t.equal(r.status, 400, `${method} ${path}: 400`);
    t.equal(r.body, '{"message":"no PortDriver is available"}\n', `${method} ${path}: body`);
  }

  const c = new ApiClient(sock);
  t.strictSame(await c.info(), hostInfo);
  await t.rejects(c.listPorts(), new ApiError(400, 'no PortDriver is available'));
  await t.rejects(c.addPort({ proto: 'tcp', parentPort: 8080, childPort: 80 }), { status: 400, message: 'no PortDriver is available' });
  await t.rejects(c.removePort(1), { status: 400, message: 'no PortDriver is available' });
});

t.test('routing: 404, 405, path cleaning', async (t) => {
  const sock = join(dir, 'route.sock');
  const srv = await startApiServer({ socketPath: sock, info: () => hostInfo, ports: new FakePorts() });
  t.teardown(() => srv.close());
  for (const path of ['/', '/v1', '/v1/', '/v1/foo', '/v1/info/', '/v2/info', '/v1/ports/', '/v1/ports/1/', '/v1/ports/1/x']) {
    const r = await raw(sock, 'GET', path);
    t.equal(r.status, 404, `${path}: 404`);
    t.equal(r.body, '404 page not found\n');
    t.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
  }
  for (const [method, path] of [['POST', '/v1/info'], ['HEAD', '/v1/info'], ['PUT', '/v1/ports'], ['DELETE', '/v1/ports'], ['GET', '/v1/ports/1'], ['POST', '/v1/ports/1']]) {
    const r = await raw(sock, method!, path!);
    t.equal(r.status, 405, `${method} ${path}: 405`);
    t.equal(r.body, '');
  }
  const q = await raw(sock, 'GET', '/v1/info?x=1');
  t.equal(q.status, 200, 'a query string is ignored');
  for (const [path, to] of [['//v1/info', '/v1/info'], ['/v1/./info', '/v1/info'], ['/v1/../v1/ports?a=b', '/v1/ports?a=b']]) {
    const r = await raw(sock, 'GET', path!);
    t.equal(r.status, 301, `${path}: redirect`);
    t.equal(r.headers.location, to);
  }
  t.equal((await raw(sock, 'GET', '/v1/%69nfo')).status, 200, 'escapes are decoded before matching');
});

t.test('with a port driver', async (t) => {
  const sock = join(dir, 'ports.sock');
  const ports = new FakePorts();
  const srv = await startApiServer({ socketPath: sock, info: () => slirpInfo, ports });
  t.teardown(() => srv.close());

  const info = await raw(sock, 'GET', '/v1/info');
  t.equal(
    info.body,
    `{"apiVersion":"1.1.1","version":"0.1.0","stateDir":${JSON.stringify(dir)},"childPID":4242,` +
      '"networkDriver":{"driver":"slirp4netns","dns":["10.0.2.3"],"childIP":"10.0.2.100"},' +
      '"portDriver":{"driver":"builtin","protos":["tcp","tcp4","tcp6","udp","udp4","udp6"]}}',
  );

  let r = await raw(sock, 'GET', '/v1/ports');
  t.equal(r.status, 200);
  t.equal(r.body, '[]');

  r = await raw(sock, 'POST', '/v1/ports', '{"proto":"tcp","parentPort":18080,"childPort":80}');
  t.equal(r.status, 201);
  t.equal(r.headers['content-type'], 'application/json');
  t.equal(r.body, '{"id":1,"spec":{"proto":"tcp","parentPort":18080,"childPort":80}}');

  r = await raw(sock, 'POST', '/v1/ports', '{"childIP":"10.0.2.100","childPort":53,"parentPort":18083,"proto":"udp","parentIP":"127.0.0.1","other":true}');
  t.equal(r.status, 201);
  t.equal(r.body, '{"id":2,"spec":{"proto":"udp","parentIP":"127.0.0.1","parentPort":18083,"childPort":53,"childIP":"10.0.2.100"}}',
    'wire field order; unknown fields dropped');

  r = await raw(sock, 'POST', '/v1/ports', '{"Proto":"tcp","PARENTPORT":18084,"childport":80,"parentIP":null}');
  t.equal(r.status, 201, 'field names match case-insensitively, null is absent');
  t.equal(r.body, '{"id":3,"spec":{"proto":"tcp","parentPort":18084,"childPort":80}}');

  const bad: Array<[string, RegExp]> = [
    ['{"proto":"tcp","parentPort":18080,"childPort":81}', /^conflict with ID 1$/],
    ['', /empty request body/],
    ['notjson', /invalid JSON/],
    ['[]', /must be a PortSpec JSON object/],
    ['{}', /unsupported proto: ""/],
    ['{"proto":"sctp","parentPort":1,"childPort":1}', /unsupported proto: "sctp" \(supported: tcp, tcp4, tcp6, udp, udp4, udp6\)/],
    ['{"proto":"tcp","parentPort":0,"childPort":80}', /invalid parentPort: 0/],
    ['{"proto":"tcp","parentPort":70000,"childPort":80}', /invalid parentPort: 70000/],
    ['{"proto":"tcp","parentPort":"80","childPort":80}', /parentPort must be an integer/],
    ['{"proto":"tcp","parentPort":80.5,"childPort":80}', /parentPort must be an integer/],
    ['{"proto":6,"parentPort":80,"childPort":80}', /proto must be a string/],
    ['{"proto":"tcp","parentIP":"bogus","parentPort":80,"childPort":80}', /invalid parentIP: "bogus"/],
    ['{"proto":"tcp","parentIP":"<&>","parentPort":80,"childPort":80}', /./],
  ];
  for (const [body, re] of bad) {
    const res = await raw(sock, 'POST', '/v1/ports', body);
    t.equal(res.status, 400, `POST ${body}: 400`);
    t.ok(res.body.endsWith('}\n'), 'error bodies end in a newline');
    t.match(JSON.parse(res.body).message, re, `POST ${body}`);
  }
  t.match((await raw(sock, 'POST', '/v1/ports', '{"proto":"tcp","parentIP":"<&>","parentPort":80,"childPort":80}')).body,
    '\\u003c\\u0026\\u003e', 'HTML characters escaped as upstream does');

  ports.failNext = new Error('driver exploded');
  r = await raw(sock, 'POST', '/v1/ports', '{"proto":"tcp","parentPort":1000,"childPort":80}');
  t.equal(r.status, 500, 'a plain error from the PortManager is a 500');
  t.equal(r.body, '{"message":"driver exploded"}\n');
  ports.failNext = new ApiError(400, 'listen tcp 0.0.0.0:1000: bind: permission denied');
  r = await raw(sock, 'POST', '/v1/ports', '{"proto":"tcp","parentPort":1000,"childPort":80}');
  t.equal(r.status, 400, 'an ApiError keeps its status');
  ports.failNext = undefined;

  r = await raw(sock, 'GET', '/v1/ports');
  t.equal(r.body,
    '[{"id":1,"spec":{"proto":"tcp","parentPort":18080,"childPort":80}},' +
      '{"id":2,"spec":{"proto":"udp","parentIP":"127.0.0.1","parentPort":18083,"childPort":53,"childIP":"10.0.2.100"}},' +
      '{"id":3,"spec":{"proto":"tcp","parentPort":18084,"childPort":80}}]');

  r = await raw(sock, 'DELETE', '/v1/ports/3');
  t.equal(r.status, 200);
  t.equal(r.body, '');
  r = await raw(sock, 'DELETE', '/v1/ports/3');
  t.equal(r.status, 400);
  t.equal(r.body, '{"message":"unknown id: 3"}\n');
  for (const id of ['abc', '1.5', '0x1', '99999999999999999999']) {
    r = await raw(sock, 'DELETE', `/v1/ports/${id}`);
    t.equal(r.status, 400, `bad id ${id}`);
    t.match(JSON.parse(r.body).message, `bad id ${id}`);
  }
  r = await raw(sock, 'DELETE', '/v1/ports/02');
  t.equal(r.status, 200, 'leading zeros are fine (02 is 2)');

  // the client against the same server
  const c = new ApiClient(sock);
  t.strictSame(await c.info(), slirpInfo);
  t.strictSame(await c.listPorts(), [{ id: 1, spec: { proto: 'tcp', parentPort: 18080, childPort: 80 } }]);
  const st = await c.addPort({ proto: 'tcp6', parentIP: '::1', parentPort: 18087, childPort: 80 });
  t.strictSame(st, { id: 4, spec: { proto: 'tcp6', parentIP: '::1', parentPort: 18087, childPort: 80 } });
  await t.rejects(c.addPort({ proto: 'tcp6', parentIP: '::1', parentPort: 18087, childPort: 81 }), new ApiError(400, 'conflict with ID 4'));
  await c.removePort(4);
  await t.rejects(c.removePort(4), { name: 'ApiError', status: 400, message: 'unknown id: 4' });
  t.equal((await c.listPorts()).length, 1);

  // many at once
  const added = await Promise.all(Array.from({ length: 20 }, (_, i) => c.addPort({ proto: 'udp', parentPort: 20000 + i, childPort: 53 })));
  t.equal(new Set(added.map((a) => a.id)).size, 20, 'concurrent requests each get their own id');

  await srv.close();
  t.notOk(existsSync(sock), 'close() removes the socket file');
  await srv.close();
});

t.test('client: upstream-style answers and connection failures', async (t) => {
  const sock = join(dir, 'odd.sock');
  // a server that answers like upstream's Go server does: null for no ports, text/plain errors
  const odd = createHttp((req, res) => {
    if (req.url === '/v1/ports' && req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('null');
    } else if (req.url === '/v1/info') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"childPID":7,"stateDir":"/s","version":"9","apiVersion":"1.1.1","future":{"x":1},"portDriver":{"driver":"slirp4netns","protos":["tcp","udp"]}}');
    } else if (req.url === '/v1/ports/5') {
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('{"message":"unknown id: 5"}\n');
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('404 page not found\n');
    }
  });
  await new Promise<void>((r) => odd.listen(sock, r));
  t.teardown(() => new Promise<void>((r) => odd.close(() => r())));
  const c = new ApiClient(sock);
  t.strictSame(await c.listPorts(), [], 'null reads as no ports');
  t.strictSame(await c.info(), {
    apiVersion: '1.1.1',
    version: '9',
    stateDir: '/s',
    childPID: 7,
    portDriver: { driver: 'slirp4netns', protos: ['tcp', 'udp'] },
  }, 'known fields only, in wire order');
  await t.rejects(c.removePort(5), new ApiError(400, 'unknown id: 5'));
  await t.rejects(c.addPort({ proto: 'tcp', parentPort: 1, childPort: 1 }), {
    status: 404,
    message: 'unexpected HTTP status 404 Not Found, body="404 page not found\\n"',
  });

  const missing = new ApiClient(join(dir, 'nope', 'api.sock'));
  const err = await missing.info().catch((e: unknown) => e);
  t.ok(err instanceof RkError, 'connection failure is an RkError');
  t.match((err as Error).message, join(dir, 'nope', 'api.sock'));
  t.match((err as Error).message, /ENOENT/);
  t.match((err as Error).message, /is rootlesskit running\?/);
  t.match((err as Error).message, /--socket/);
  t.match((err as Error).message, /ROOTLESSKIT_STATE_DIR/);

  // a socket file nobody listens on (as a SIGKILLed server leaves it)
  const dead = join(dir, 'dead.sock');
  const py = spawnSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', dead]);
  if (py.status === 0) {
    const e = await new ApiClient(dead).listPorts().catch((x: unknown) => x);
    t.ok(e instanceof RkError, 'refused connection is an RkError');
    t.match((e as Error).message, /ECONNREFUSED.*is rootlesskit running\?/);
    // and a server may start over it
    const srv = await startApiServer({ socketPath: dead, info: () => hostInfo });
    t.equal((await new ApiClient(dead).info()).childPID, 4242, 'stale socket replaced');
    await srv.close();
  }
});

t.test('socket path too long', async (t) => {
  await t.rejects(startApiServer({ socketPath: `/tmp/${'x'.repeat(120)}/api.sock`, info: () => hostInfo }), /too long/);
});
