// The relay engine on its own (targets on this host): bytes, UDP flows
// (order, idle end), port removal with live connections, errors.
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { createSocket, type Socket as Dgram } from 'node:dgram';
import { connect, createServer, type AddressInfo } from 'node:net';
import { Relay, type RelayEvent } from '../src/index.js';

const events: RelayEvent[] = [];
const relay = new Relay({ threads: 2 }, (e) => events.push(e));
t.teardown(() => relay.close());

async function echoServer(t: Test): Promise<number> {
  const s = createServer((c) => {
    c.on('error', () => {});
    c.pipe(c);
  }).listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  t.teardown(() => s.close());
  return (s.address() as AddressInfo).port;
}

async function udpEcho(t: Test): Promise<number> {
  const u = createSocket('udp4');
  u.on('message', (m, r) => u.send(m, r.port, r.address));
  await new Promise<void>((r) => u.bind(0, '127.0.0.1', r));
  t.teardown(() => u.close());
  return u.address().port;
}

t.test('TCP: bytes through, listener port 0 resolved, IPv4 and IPv6 on one dual-stack socket', async (t) => {
  const target = await echoServer(t);
  const p = relay.addPort({ proto: 'tcp', listen: [{ ip: '::', port: 0, v6only: false }], target: { ip: '127.0.0.1', port: target } });
  t.teardown(() => relay.removePort(p.id));
  t.ok(p.ports[0]! > 0);
  for (const host of ['127.0.0.1', '::1']) {
    const got = await new Promise<string>((resolve, reject) => {
      const c = connect(p.ports[0]!, host);
      let out = '';
      c.on('connect', () => c.end(`hi ${host}`));
      c.on('data', (d) => (out += d));
      c.on('close', () => resolve(out));
      c.on('error', reject);
    });
    t.equal(got, `hi ${host}`, `through, from ${host}`);
  }
});

t.test('errors: a taken port, a bad address', async (t) => {
  const target = await echoServer(t);
  const p = relay.addPort({ proto: 'tcp', listen: [{ ip: '127.0.0.1', port: 0 }], target: { ip: '127.0.0.1', port: target } });
  t.teardown(() => relay.removePort(p.id));
  t.throws(() => relay.addPort({ proto: 'tcp', listen: [{ ip: '127.0.0.1', port: p.ports[0]! }], target: { ip: '127.0.0.1', port: 1 } }), { code: 'EADDRINUSE', syscall: 'listen', port: p.ports[0] });
  t.throws(() => relay.addPort({ proto: 'tcp', listen: [{ ip: 'nope', port: 1 }], target: { ip: '127.0.0.1', port: 1 } }), TypeError);
  t.equal(relay.removePort(4242), false, 'unknown id');
});

t.test('removing a port closes its live connections and frees the port at once', async (t) => {
  const target = await echoServer(t);
  const p = relay.addPort({ proto: 'tcp', listen: [{ ip: '127.0.0.1', port: 0 }], target: { ip: '127.0.0.1', port: target } });
  const c = connect(p.ports[0]!, '127.0.0.1');
  c.on('error', () => {});
  await new Promise((r) => c.on('connect', r));
  c.write('x');
  await new Promise((r) => c.once('data', r));
  const closed = new Promise((r) => c.on('close', r));
  t.equal(relay.removePort(p.id), true);
  await closed;
  t.pass('the live connection was closed');
  const again = relay.addPort({ proto: 'tcp', listen: [{ ip: '127.0.0.1', port: p.ports[0]! }], target: { ip: '127.0.0.1', port: target } });
  t.equal(again.ports[0], p.ports[0], 'the port can be bound again right away');
  relay.removePort(again.id);
  t.equal(relay.stats().connections, 0);
});

t.test('UDP: one flow per client, datagrams in order, flows end after the idle timeout', async (t) => {
  const target = await udpEcho(t);
  const p = relay.addPort({ proto: 'udp', listen: [{ ip: '127.0.0.1', port: 0 }], target: { ip: '127.0.0.1', port: target }, udpIdleMs: 300 });
  t.teardown(() => relay.removePort(p.id));
  const clients: Dgram[] = [];
  const received: number[][] = [[], []];
  const N = 2000;
  const WINDOW = 50; // in flight at a time: this process is also the echo server
  await Promise.all([0, 1].map(async (k) => {
    const s = createSocket('udp4');
    clients.push(s);
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    let wake: (() => void) | undefined;
    s.on('message', (m) => {
      received[k]!.push(m.readUInt32BE(0));
      wake?.();
    });
    for (let i = 0; i < N; i += WINDOW) {
      const want = i + WINDOW;
      const arrived = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        wake = () => {
          if (received[k]!.length >= want) {
            clearTimeout(timer);
            resolve();
          }
        };
      });
      for (let j = i; j < want; j++) {
        const b = Buffer.alloc(64);
        b.writeUInt32BE(j, 0);
        s.send(b, p.ports[0]!, '127.0.0.1');
      }
      await arrived;
    }
  }));
  t.equal(relay.stats().flows, 2, 'two clients: two flows');
  for (const k of [0, 1]) {
    const r = received[k]!;
    t.equal(r.length, N, `client ${k}: all ${N} datagrams back`);
    t.ok(r.every((v, i) => i === 0 || v > r[i - 1]!), `client ${k}: in order`);
  }
  await new Promise((r) => setTimeout(r, 1600));
  t.equal(relay.stats().flows, 0, 'idle flows ended');
  for (const s of clients) s.close();
});

t.test('UDP: datagram boundaries and order survive batching (equal sizes go as GSO trains)', async (t) => {
  const target = await udpEcho(t);
  const p = relay.addPort({ proto: 'udp', listen: [{ ip: '127.0.0.1', port: 0 }], target: { ip: '127.0.0.1', port: target } });
  t.teardown(() => relay.removePort(p.id));
  // groups that fit the sockets' default buffers, each sent at once so the relay reads them in batches
  const groups = [[...Array(10).fill(100), 50, ...Array(5).fill(100)], Array(20).fill(1400), [60000, 1, 0], [1, 0, 0, 5, 5, 5], [...Array(7).fill(9000), 7]];
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  t.teardown(() => s.close());
  let got: Buffer[] = [];
  let wake: (() => void) | undefined;
  s.on('message', (m) => {
    got.push(m);
    wake?.();
  });
  for (const [g, sizes] of groups.entries()) {
    got = [];
    const sent = sizes.map((n, i) => Buffer.alloc(n, (g * 31 + i * 37) & 0xff));
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      wake = () => {
        if (got.length === sent.length) {
          clearTimeout(timer);
          resolve();
        }
      };
    });
    for (const b of sent) s.send(b, p.ports[0]!, '127.0.0.1');
    await done;
    t.equal(got.length, sent.length, `group ${g}: every datagram came back`);
    t.ok(got.every((b, i) => b.equals(sent[i]!)), `group ${g}: each with its own size and bytes, in order`);
  }
});

t.test('UDP: a client\'s GSO sends (trains the listener gets whole, UDP_GRO) reach the target as separate datagrams, in order', async (t) => {
  const target = await udpEcho(t);
  const p = relay.addPort({ proto: 'udp', listen: [{ ip: '127.0.0.1', port: 0 }], target: { ip: '127.0.0.1', port: target } });
  t.teardown(() => relay.removePort(p.id));
  // Each group is one sendmsg with UDP_SEGMENT (the kernel cuts it up only at
  // the receiving socket, if that one did not ask for UDP_GRO); the echoes
  // come back one by one. Between groups, a plain datagram.
  const script = [
    'import socket, sys',
    's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
    's.settimeout(3)',
    `s.connect(("127.0.0.1", ${p.ports[0]}))`,
    'groups = [(1400, 20, 700), (100, 64, 100), (9000, 7, 9000), (1200, 2, 1)]',
    'bad = 0; got = 0; want = 0',
    'for g, (seg, n, last) in enumerate(groups):',
    '  dg = [bytes([(g * 31 + i * 37) & 255]) * (seg if i < n - 1 else last) for i in range(n)]',
    '  s.setsockopt(socket.SOL_UDP, 103, seg)',
    '  s.send(b"".join(dg))',
    '  s.setsockopt(socket.SOL_UDP, 103, 0)',
    '  s.send(b"plain %d" % g)',
    '  for d in dg + [b"plain %d" % g]:',
    '    want += 1',
    '    try: m = s.recv(65535)',
    '    except socket.timeout: break',
    '    got += 1',
    '    if m != d: bad += 1',
    'print(want, got, bad)',
  ].join('\n');
  // Not execFileSync: the echo target is served by this process's event loop.
  const out = await new Promise<string>((resolve, reject) =>
    execFile('python3', ['-c', script], { timeout: 20_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout.trim()))),
  );
  const [want, got, bad] = out.split(' ').map(Number);
  t.equal(got, want, `every datagram came back (${out})`);
  t.equal(bad, 0, 'each with its own size and bytes, in order: no train was passed on merged');
});

t.test('events only while debug is on; pipes bounded after use', async (t) => {
  const target = await echoServer(t);
  const p = relay.addPort({ proto: 'tcp', listen: [{ ip: '127.0.0.1', port: 0 }], target: { ip: '127.0.0.1', port: target } });
  t.teardown(() => relay.removePort(p.id));
  const once = () =>
    new Promise<void>((resolve) => {
      const c = connect(p.ports[0]!, '127.0.0.1');
      c.on('connect', () => c.end(Buffer.alloc(1 << 20)));
      c.resume();
      c.on('close', () => resolve());
    });
  events.length = 0;
  await once();
  await new Promise((r) => setTimeout(r, 50));
  t.equal(events.length, 0, 'no events with debug off');
  relay.setDebug(true);
  await once();
  await new Promise((r) => setTimeout(r, 50));
  relay.setDebug(false);
  t.strictSame(events.map((e) => e.kind), ['open', 'close']);
  t.match(events[1], { up: 1 << 20, down: 1 << 20, client: /^127\.0\.0\.1:\d+$/, target: `127.0.0.1:${target}` });
  await Promise.all(Array.from({ length: 50 }, once));
  const st = relay.stats();
  t.equal(st.pipesInUse, 0, 'no pipe held once connections end');
  t.ok(st.pipesIdle <= 16, `idle pipes bounded (${st.pipesIdle})`);
});
