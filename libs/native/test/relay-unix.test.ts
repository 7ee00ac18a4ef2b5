// The relay's UNIX sockets and per-port limits on their own (on this host):
// TCP<->UNIX bytes and half-close, how socket files are made and removed,
// one-shot ports, range=, max connections, idle timeout, PROXY headers.
import t, { type Test } from 'tap';
import { existsSync, lstatSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Relay, type RelayEvent } from '../src/index.js';

const events: RelayEvent[] = [];
const relay = new Relay({ threads: 2 }, (e) => events.push(e));
t.teardown(() => relay.close());
const dir = mkdtempSync(join(tmpdir(), 'rk-relay-unix-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** A server that answers each connection with what it read ("<bytes>" once the client half-closed). */
async function recorder(t: Test, where: string | number): Promise<{ server: Server; got: Buffer[] }> {
  const got: Buffer[] = [];
  const server = createServer((c) => {
    const parts: Buffer[] = [];
    c.on('error', () => {});
    c.on('data', (d) => parts.push(d));
    c.on('end', () => {
      got.push(Buffer.concat(parts));
      c.end(`<${Buffer.concat(parts).length}>`);
    });
  });
  if (typeof where === 'string') server.listen(where);
  else server.listen(where, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  t.teardown(() => new Promise((r) => server.close(r)));
  return { server, got };
}

function talk(to: { path: string } | { port: number }, send: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const c: Socket = 'path' in to ? connect(to.path) : connect(to.port, '127.0.0.1');
    let out = '';
    c.on('connect', () => c.end(send));
    c.on('data', (d) => (out += d));
    c.on('close', () => resolve(out));
    c.on('error', reject);
  });
}

const port = (s: Server) => (s.address() as AddressInfo).port;

t.test('TCP -> UNIX socket file and UNIX -> TCP: bytes and half-close through', async (t) => {
  const sock = join(dir, 'target.sock');
  const r = await recorder(t, sock);
  const a = relay.addPort({ proto: 'tcp', listen: [{ ip: '127.0.0.1', port: 0 }], target: { path: sock } });
  t.teardown(() => relay.removePort(a.id));
  const big = Buffer.alloc(3 << 20, 7);
  t.equal(await talk({ port: a.ports[0]! }, big), `<${big.length}>`, '3 MiB to the socket file, the answer after half-close');
  const front = join(dir, 'front.sock');
  const tcp = await recorder(t, 0);
  const b = relay.addPort({ proto: 'tcp', listen: [{ path: front }], target: { ip: '127.0.0.1', port: port(tcp.server) } });
  t.equal(await talk({ path: front }, 'hello'), '<5>', 'through a listening socket file to TCP');
  t.same(tcp.got.map(String), ['hello']);
  relay.removePort(b.id);
  t.notOk(existsSync(front), 'the socket file is removed with the port');
});

t.test('abstract names on both sides (as socat names them: no NUL padding)', async (t) => {
  // Node pads abstract names to the full sun_path, so two relay ports are
  // chained: TCP -> abstract name -> TCP.
  const name = `rk-relay-test-${process.pid}`;
  const r = await recorder(t, 0);
  const back = relay.addPort({ proto: 'tcp', listen: [{ abstract: name }], target: { ip: '127.0.0.1', port: port(r.server) } });
  t.teardown(() => relay.removePort(back.id));
  const front = relay.addPort({ proto: 'tcp', listen: [{ ip: '127.0.0.1', port: 0 }], target: { abstract: name } });
  t.teardown(() => relay.removePort(front.id));
  t.equal(await talk({ port: front.ports[0]! }, 'abc'), '<3>');
  t.same(r.got.map(String), ['abc']);
  t.match(readFileSync('/proc/net/unix', 'utf8'), new RegExp(` @${name}\n`), 'listed under its exact name');
});

t.test('socket files: exact mode, existing path refused, unlink-early, a symlink never followed, sun_path', async (t) => {
  const p = join(dir, 'mode.sock');
  const a = relay.addPort({ proto: 'tcp', listen: [{ path: p, mode: 0o660 }], target: { ip: '127.0.0.1', port: 1 } });
  t.equal(lstatSync(p).mode & 0o777, 0o660, 'mode=0660 exactly, whatever the umask');
  t.throws(() => relay.addPort({ proto: 'tcp', listen: [{ path: p }], target: { ip: '127.0.0.1', port: 1 } }), { code: 'EADDRINUSE' }, 'a live socket file is not taken over');
  relay.removePort(a.id);
  writeFileSync(p, 'data');
  t.throws(() => relay.addPort({ proto: 'tcp', listen: [{ path: p }], target: { ip: '127.0.0.1', port: 1 } }), { code: 'EADDRINUSE' });
  t.equal(readFileSync(p, 'utf8'), 'data', 'an existing file is left alone');
  const b = relay.addPort({ proto: 'tcp', listen: [{ path: p, unlinkEarly: true }], target: { ip: '127.0.0.1', port: 1 } });
  t.ok(lstatSync(p).isSocket(), 'unlink-early replaces it');
  relay.removePort(b.id);
  const victim = join(dir, 'victim');
  writeFileSync(victim, 'mine');
  const link = join(dir, 'planted.sock');
  symlinkSync(victim, link);
  t.throws(() => relay.addPort({ proto: 'tcp', listen: [{ path: link, mode: 0o666 }], target: { ip: '127.0.0.1', port: 1 } }), { code: 'EADDRINUSE' });
  t.equal(lstatSync(victim).mode & 0o777, lstatSync(victim).mode & 0o777 & ~0o111, 'the symlink target untouched');
  t.equal(readFileSync(victim, 'utf8'), 'mine');
  t.throws(() => relay.addPort({ proto: 'tcp', listen: [{ path: '/tmp/' + 'x'.repeat(120) }], target: { ip: '127.0.0.1', port: 1 } }), { code: 'ENAMETOOLONG' });
  t.throws(() => relay.addPort({ proto: 'tcp', listen: [{ path: dir }], target: { ip: '127.0.0.1', port: 1 } }), { code: 'EADDRINUSE' }, 'a directory');
});

t.test('a target that is not a socket, or missing: the client is closed', async (t) => {
  const file = join(dir, 'plain');
  writeFileSync(file, '');
  for (const path of [file, join(dir, 'missing.sock')]) {
    const a = relay.addPort({ proto: 'tcp', listen: [{ ip: '127.0.0.1', port: 0 }], target: { path } });
    t.equal(await talk({ port: a.ports[0]! }, 'x').catch((e) => e.code), 'ECONNRESET', path);
    relay.removePort(a.id);
  }
});

t.test('one-shot: one connection served, the next refused, then "done"', async (t) => {
  const r = await recorder(t, 0);
  events.length = 0;
  const a = relay.addPort({ proto: 'tcp', listen: [{ ip: '127.0.0.1', port: 0 }], target: { ip: '127.0.0.1', port: port(r.server) }, oneShot: true });
  t.teardown(() => relay.removePort(a.id));
  const first = connect(a.ports[0]!, '127.0.0.1');
  await new Promise((res) => first.on('connect', res));
  await new Promise((res) => setTimeout(res, 100));
  t.equal(await talk({ port: a.ports[0]! }, 'second').catch((e) => e.code), 'ECONNREFUSED', 'a second client is refused');
  let out = '';
  first.on('data', (d) => (out += d));
  first.end('one');
  await new Promise((res) => first.on('close', res));
  t.equal(out, '<3>');
  await new Promise((res) => setTimeout(res, 50));
  t.ok(events.some((e) => e.kind === 'done' && e.port === a.id), 'done reported');
});

t.test('range, max connections, idle timeout', async (t) => {
  const r = await recorder(t, 0);
  events.length = 0;
  const deny = relay.addPort({ proto: 'tcp', listen: [{ ip: '127.0.0.1', port: 0 }], target: { ip: '127.0.0.1', port: port(r.server) }, ranges: [{ ip: '10.0.0.0', prefix: 8 }] });
  // The relay closes a client outside the range at once: a clean close, or a
  // reset when the client's byte arrived first (a race of the two). Either way
  // nothing comes back and the target never hears of it.
  const denied = await talk({ port: deny.ports[0]! }, 'x').catch((e) => e.code);
  t.ok(denied === '' || denied === 'ECONNRESET', `outside range: closed, nothing through (${JSON.stringify(denied)})`);
  t.same(r.got, [], 'outside range: the target got no connection');
  relay.removePort(deny.id);
  const allow = relay.addPort({ proto: 'tcp', listen: [{ ip: '127.0.0.1', port: 0 }], target: { ip: '127.0.0.1', port: port(r.server) }, ranges: [{ ip: '127.0.0.0', prefix: 8 }] });
  t.equal(await talk({ port: allow.ports[0]! }, 'in'), '<2>', 'inside range: through');
  relay.removePort(allow.id);

  const cap = relay.addPort({ proto: 'tcp', listen: [{ ip: '127.0.0.1', port: 0 }], target: { ip: '127.0.0.1', port: port(r.server) }, maxConns: 1, idleMs: 300 });
  t.teardown(() => relay.removePort(cap.id));
  const held = connect(cap.ports[0]!, '127.0.0.1');
  held.on('error', () => {});
  await new Promise((res) => held.on('connect', res));
  await new Promise((res) => setTimeout(res, 50));
  t.equal(await talk({ port: cap.ports[0]! }, 'x').catch((e) => e.code), 'ECONNRESET', 'the second at once is reset');
  const t0 = Date.now();
  await new Promise((res) => held.on('close', res));
  t.ok(Date.now() - t0 < 1500, 'the idle connection was closed by the idle timeout');
  t.ok(events.some((e) => e.kind === 'limit' && /idle/.test(e.what ?? '')), 'logged');
  t.equal(events.filter((e) => e.kind === 'limit' && /^1 connections/.test(e.what ?? '')).length, 1, 'one log line for the cap');
});

t.test('PROXY protocol v1 and v2 before the client\'s bytes', async (t) => {
  const r = await recorder(t, 0);
  const v1 = relay.addPort({ proto: 'tcp', listen: [{ ip: '127.0.0.1', port: 0 }], target: { ip: '127.0.0.1', port: port(r.server) }, proxy: 1 });
  await talk({ port: v1.ports[0]! }, 'body');
  relay.removePort(v1.id);
  t.match(String(r.got[0]), new RegExp(`^PROXY TCP4 127\\.0\\.0\\.1 127\\.0\\.0\\.1 \\d+ ${v1.ports[0]}\\r\\nbody$`));
  const v2 = relay.addPort({ proto: 'tcp', listen: [{ ip: '127.0.0.1', port: 0 }], target: { ip: '127.0.0.1', port: port(r.server) }, proxy: 2 });
  await talk({ port: v2.ports[0]! }, 'body');
  relay.removePort(v2.id);
  const h = r.got[1]!;
  t.same([...h.subarray(0, 16)], [13, 10, 13, 10, 0, 13, 10, 81, 85, 73, 84, 10, 0x21, 0x11, 0, 12]);
  t.same([...h.subarray(16, 24)], [127, 0, 0, 1, 127, 0, 0, 1]);
  t.equal(h.readUInt16BE(26), v2.ports[0]);
  t.equal(String(h.subarray(28)), 'body');
});
