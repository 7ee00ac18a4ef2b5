// rk-portfwd as a user runs it: bytes through forwarded ports host to host
// and into a namespace (TCP, HTTP, UDP, IPv6), half-close and resets, the
// ports API on a state dir (ours and upstream's rootlessctl), bad input, and
// the load test (500 connections x 1 MiB, then no fds left behind).
import t, { type Test } from 'tap';
import { createSocket } from 'node:dgram';
import { existsSync, statSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { binDir, isRoot, noSubidUser, run, testUid, waitFor } from './harness.js';
import { apiCall, fdCount, freePort, waitListening, freePorts, httpGet, nsServers, pattern, portfwd, spawnTracked, tcpExchange, udpAsk } from './net-helpers.js';

const UPSTREAM_CTL = '/usr/bin/rootlessctl';
const OUR_CTL = join(binDir, 'rootlessctl');
const haveSocat = existsSync('/usr/bin/socat');

/** An echo server in this process (TCP and UDP) on host:port. */
async function hostEcho(t: Test, host: string, port: number): Promise<void> {
  const srv: Server = createServer((s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  await new Promise<void>((resolve) => srv.listen(port, host, resolve));
  const u = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  u.on('message', (m, r) => u.send(Buffer.concat([Buffer.from('echo '), m]), r.port, r.address));
  await new Promise<void>((resolve) => u.bind(port, host, resolve));
  t.teardown(() => {
    srv.close();
    u.close();
  });
}

t.test('bad -p specs are refused at start, with the reason', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['abc', /invalid port spec "abc": missing \/PROTO/],
    ['70000:80/tcp', /parent port 70000 is out of range 1-65535/],
    ['8080:80/icmp', /unknown proto "icmp"/],
    ['[::1:8080:80/tcp', /unclosed "\["/],
    ['8080:80/sctp', /proto sctp is not supported by the builtin port driver/],
  ];
  for (const [spec, re] of cases) {
    const r = run(['rk-portfwd', '-p', spec]);
    t.equal(r.code, 2, `${spec}: exit 2`);
    t.match(r.stderr, re, `${spec}: the reason`);
    t.equal(r.stderr.trim().split('\n').length, 1, `${spec}: one line`);
    t.match(r.stderr, /^rk-portfwd: error: /);
  }
  const none = run(['rk-portfwd']);
  t.equal(none.code, 2);
  t.match(none.stderr, /nothing to forward: give -p SPEC/);
  const both = run(['rk-portfwd', '--netns-pid', '1', '--state-dir', '/tmp', '-p', '80:80/tcp']);
  t.equal(both.code, 2);
  t.match(both.stderr, /not both/);
});

t.test('host to host: TCP, HTTP, UDP and IPv6 through rk-portfwd, and the same bytes as socat', async (t) => {
  const base = await freePorts(4);
  const [echo, echo6] = [await freePort(), await freePort()];
  await hostEcho(t, '127.0.0.1', echo);
  await hostEcho(t, '::1', echo6);
  const hs = createHttpServer((req, res) => res.end(`hello ${req.url}\n`));
  await new Promise<void>((r) => hs.listen(0, '127.0.0.1', r));
  t.teardown(() => hs.close());
  const hport = (hs.address() as { port: number }).port;
  const p = await portfwd(t, [
    '-p', `127.0.0.1:${base}:127.0.0.1:${echo}/tcp`,
    '-p', `127.0.0.1:${base}:127.0.0.1:${echo}/udp`,
    '-p', `[::1]:${base + 1}:[::1]:${echo6}/tcp6`,
    '-p', `[::1]:${base + 1}:[::1]:${echo6}/udp6`,
    '-p', `127.0.0.1:${base + 2}:127.0.0.1:${hport}/tcp`,
  ], 5);
  t.ok(p.isRunning(), p.isRunning() ? 'rk-portfwd runs' : p.stderr());

  const data = pattern(3 << 20);
  t.ok((await tcpExchange(base, '127.0.0.1', data)).equals(data), 'TCP: 3 MiB echoed back intact');
  t.ok((await tcpExchange(base + 1, '::1', data)).equals(data), 'TCP over IPv6: 3 MiB echoed back intact');
  t.equal(await udpAsk(base, '127.0.0.1', 'ping'), 'echo ping', 'UDP echo');
  t.equal(await udpAsk(base + 1, '::1', 'ping6'), 'echo ping6', 'UDP echo over IPv6');
  const g = await httpGet('127.0.0.1', base + 2, '/x');
  t.equal(g.status, 200);
  t.equal(g.body, 'hello /x\n', 'HTTP GET through the forwarded port');
  t.match(p.stderr(), /connection 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+/, '--debug: one line per connection');
  t.match(p.stderr(), /closed 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+ \(3145728 bytes up, 3145728 down\)/, '--debug: bytes at close');

  if (haveSocat) {
    const sport = await freePort();
    const socat = spawnTracked(t, ['socat', `TCP-LISTEN:${sport},bind=127.0.0.1,reuseaddr,fork`, `TCP:127.0.0.1:${echo}`]);
    await waitListening(sport, '127.0.0.1');
    t.ok(socat.isRunning(), 'socat runs');
    const viaSocat = await tcpExchange(sport, '127.0.0.1', data);
    const viaOurs = await tcpExchange(base, '127.0.0.1', data);
    t.ok(viaSocat.equals(viaOurs), 'socat and rk-portfwd deliver the same bytes');
  }
  process.kill(p.pid, 'SIGTERM');
  t.equal(await p.exited, 0, 'SIGTERM: exit 0');
  await t.rejects(tcpExchange(base, '127.0.0.1', 'x'), { code: 'ECONNREFUSED' }, 'nothing listens after exit');
});

t.test('half-close, resets and a refusing target are passed on', async (t) => {
  const [sport, fport, dead] = [await freePort(), await freePort(), await freePort()];
  let mode = 'half';
  let gotData: (() => void) | undefined;
  let clientReset: Promise<string> | undefined;
  const srv = createServer((s: Socket) => {
    s.on('error', () => {});
    if (mode === 'half') {
      let n = 0;
      s.on('data', (d: Buffer) => (n += d.length));
      s.on('end', () => s.end(`got ${n}`));
    } else if (mode === 'server-reset') {
      s.once('data', () => s.resetAndDestroy());
    } else {
      clientReset = new Promise((resolve) => {
        s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
        s.on('end', () => resolve('EOF'));
        s.once('data', () => gotData?.());
      });
    }
  });
  await new Promise<void>((r) => srv.listen(sport, '127.0.0.1', r));
  t.teardown(() => srv.close());
  await portfwd(t, ['-p', `127.0.0.1:${fport}:127.0.0.1:${sport}/tcp`, '-p', `127.0.0.1:${dead}:127.0.0.1:1/tcp`], 2);

  const got = await tcpExchange(fport, '127.0.0.1', pattern(1 << 20));
  t.equal(got.toString(), `got ${1 << 20}`, 'half-close: the server saw EOF after all bytes, and its answer came back');

  mode = 'server-reset';
  await t.rejects(tcpExchange(fport, '127.0.0.1', 'hello'), { code: 'ECONNRESET' }, "the server's reset reaches the client");

  mode = 'client-reset';
  for (const [port, what] of [[sport, 'directly'], [fport, 'through rk-portfwd']] as const) {
    clientReset = undefined;
    const arrived = new Promise<void>((r) => (gotData = r));
    const c = connect(port, '127.0.0.1');
    c.on('error', () => {});
    await new Promise((r) => c.on('connect', r));
    c.write('hello');
    await arrived;
    c.resetAndDestroy();
    t.equal(await clientReset, 'ECONNRESET', `the client's reset reaches the server (${what})`);
  }

  const t0 = Date.now();
  await t.rejects(tcpExchange(dead, '127.0.0.1', 'x'), { code: 'ECONNRESET' }, 'a refusing target: the client is reset');
  t.ok(Date.now() - t0 < 2000, `promptly (${Date.now() - t0} ms)`);
});

t.test('into a namespace (--netns-pid): TCP, HTTP, UDP, IPv6; the server sees a loopback client as loopback', async (t) => {
  const base = await freePorts(3);
  const ns = await nsServers(t, 7000);
  const p = await portfwd(t, [
    '--netns-pid', String(ns.pid),
    '-p', `127.0.0.1:${base}:7000/tcp`,
    '-p', `127.0.0.1:${base}:7000/udp`,
    '-p', `127.0.0.1:${base + 1}:7001/tcp`,
    '-p', `127.0.0.1:${base + 2}:7002/tcp`,
    '-p', `[::1]:${base}:[::1]:7000/tcp6`,
    '-p', `[::1]:${base}:[::1]:7000/udp6`,
  ], 6);
  t.ok(p.isRunning(), p.isRunning() ? 'rk-portfwd runs' : p.stderr());
  const data = pattern(2 << 20, 7);
  t.ok((await tcpExchange(base, '127.0.0.1', data)).equals(data), 'TCP: 2 MiB echoed from inside the namespace');
  t.ok((await tcpExchange(base, '::1', data)).equals(data), 'TCP over IPv6 to [::1] inside');
  t.match(await udpAsk(base, '127.0.0.1', 'dgram'), /^127\.0\.0\.1 \d+ dgram$/, 'UDP echo from inside (a loopback client stays loopback)');
  t.match(await udpAsk(base, '::1', 'dgram6'), /^::1 \d+ dgram6$/, 'UDP echo over IPv6');
  const g = await httpGet('127.0.0.1', base + 2);
  t.match(g.body, /^hello from \d+, you are 127\.0\.0\.1$/m, 'HTTP from inside');
  const peer = (await tcpExchange(base + 1, '127.0.0.1')).toString();
  t.match(peer, /^127\.0\.0\.1 \d+\n$/, 'TCP: a loopback client is seen as 127.0.0.1 (as upstream)');
  // the namespace's process ends: rk-portfwd ends too
  process.kill(-ns.proc.pid, 'SIGKILL');
  t.equal(await p.exited, 0, 'rk-portfwd exits 0 when the namespace process is gone');
});

function runCtl(ctl: string, sock: string, args: string[]) {
  return run([ctl, '--socket', sock, ...args]);
}

t.test('--state-dir: DIR/api.sock serves the ports API (ours and upstream rootlessctl); conflicts, removal, bad input', async (t) => {
  const base = await freePorts(4);
  const ns = await nsServers(t, 7100);
  const sock = join(ns.stateDir, 'api.sock');
  const p = await portfwd(t, ['--state-dir', ns.stateDir, '-p', `127.0.0.1:${base}:7100/tcp`], 1);
  await waitFor(() => existsSync(sock) || !p.isRunning());
  t.ok(p.isRunning(), p.isRunning() ? 'rk-portfwd runs' : p.stderr());
  const st = statSync(sock);
  t.equal(st.mode & 0o777, 0o600, 'api.sock: mode 0600');
  t.equal(st.uid, testUid, 'api.sock: owned by the user');
  if (isRoot) {
    const other = run([OUR_CTL, '--socket', sock, 'list-ports'], { user: noSubidUser });
    t.equal(other.code, 1, 'another user cannot use the API');
    t.match(other.stderr, /EACCES/);
  }

  for (const ctl of [OUR_CTL, ...(existsSync(UPSTREAM_CTL) ? [UPSTREAM_CTL] : [])]) {
    const name = ctl === OUR_CTL ? 'ours' : 'upstream';
    const add = runCtl(ctl, sock, ['add-ports', `127.0.0.1:${base + 1}:7100/tcp`, `127.0.0.1:${base + 1}:7100/udp`]);
    t.equal(add.code, 0, `${name} add-ports (${add.stderr.trim()})`);
    const [tcpId, udpId] = add.stdout.trim().split('\n').map(Number);
    const data = pattern(1 << 20, 3);
    t.ok((await tcpExchange(base + 1, '127.0.0.1', data)).equals(data), `${name}: an added TCP port carries bytes`);
    t.match(await udpAsk(base + 1, '127.0.0.1', 'u'), /^127\.0\.0\.1 \d+ u$/, `${name}: an added UDP port answers`);
    const list = runCtl(ctl, sock, ['list-ports']);
    t.match(list.stdout, new RegExp(`^${tcpId} +tcp +127\\.0\\.0\\.1 +${base + 1} +7100 +$`, 'm'), `${name} list-ports shows it`);
    const json = runCtl(ctl, sock, ['list-ports', '--json']);
    t.match(json.stdout, `{"id":${udpId},"spec":{"proto":"udp","parentIP":"127.0.0.1","parentPort":${base + 1},"childPort":7100}}\n`);
    const conflict = runCtl(ctl, sock, ['add-ports', `127.0.0.1:${base + 1}:7200/tcp`]);
    t.equal(conflict.code, 1, `${name}: a conflict fails`);
    t.match(conflict.stderr, `conflict with ID ${tcpId}`);
    const priv = runCtl(ctl, sock, ['add-ports', '127.0.0.1:80:7100/tcp']);
    t.equal(priv.code, 1, `${name}: a privileged port fails`);
    t.match(priv.stderr, /cannot expose privileged port 80 \(net\.ipv4\.ip_unprivileged_port_start is \d+\): sudo sysctl -w net\.ipv4\.ip_unprivileged_port_start=80 \(or choose a port >= \d+\)\n/);
    const rm = runCtl(ctl, sock, ['remove-ports', String(tcpId), String(udpId)]);
    t.equal(rm.code, 0, `${name} remove-ports`);
    await t.rejects(tcpExchange(base + 1, '127.0.0.1', 'x'), { code: 'ECONNREFUSED' }, `${name}: a removed port no longer listens`);
    const again = runCtl(ctl, sock, ['remove-ports', String(tcpId)]);
    t.equal(again.code, 1);
    t.match(again.stderr, `unknown id: ${tcpId}`);
  }
  const info = JSON.parse(runCtl(OUR_CTL, sock, ['info', '--json']).stdout);
  t.strictSame(info.portDriver, { driver: 'builtin', protos: ['tcp', 'tcp4', 'tcp6', 'udp', 'udp4', 'udp6', 'unix'] });
  t.equal(info.childPID, ns.pid);

  // bad input over the socket (as root: the file's mode does not stop us)
  if (isRoot) {
    const bad = async (method: string, path: string, body: string | Buffer | undefined, status: number, re: RegExp) => {
      const r = await apiCall(sock, method, path, body);
      t.equal(r.status, status, `${method} ${path} ${typeof body === 'string' ? body.slice(0, 40) : ''}: ${status}`);
      if (status !== 404) t.match(JSON.parse(r.text), { message: re });
    };
    await bad('POST', '/v1/ports', '{"proto":', 400, /invalid JSON/);
    await bad('POST', '/v1/ports', JSON.stringify({ proto: 'icmp', parentPort: base + 2, childPort: 1 }), 400, /unsupported proto: "icmp"/);
    await bad('POST', '/v1/ports', JSON.stringify({ proto: 'tcp', parentPort: 70000, childPort: 1 }), 400, /invalid parentPort: 70000/);
    await bad('POST', '/v1/ports', JSON.stringify({ proto: 'tcp', parentPort: 'x', childPort: 1 }), 400, /parentPort must be an integer/);
    await bad('DELETE', '/v1/ports/4242', undefined, 400, /unknown id: 4242/);
    await bad('GET', '/v1/nothing', undefined, 404, /./);
    await bad('POST', '/v1/ports', Buffer.alloc(20 << 20, 0x61), 413, /larger than/);
    const after = await apiCall(sock, 'GET', '/v1/ports');
    t.equal(after.status, 200, 'after a 20 MB body the API still answers');
  }
  process.kill(p.pid, 'SIGTERM');
  t.equal(await p.exited, 0);
  t.notOk(existsSync(sock), 'api.sock removed at exit');
});

t.test('load: 500 concurrent connections x 1 MiB into a namespace lose no byte; no fds left behind', async (t) => {
  const base = await freePorts(1);
  const ns = await nsServers(t, 7300);
  const p = await portfwd(t, ['--netns-pid', String(ns.pid), '-p', `127.0.0.1:${base}:7300/tcp`], 1);
  const before = fdCount(p.pid);
  const size = 1 << 20;
  const data = pattern(size, 11);
  const round = async () => {
    const results = await Promise.allSettled(Array.from({ length: 500 }, () => tcpExchange(base, '127.0.0.1', data)));
    return results.filter((r) => r.status === 'fulfilled' && r.value.equals(data)).length;
  };
  t.equal(await round(), 500, 'round 1: 500 of 500 echoed intact');
  t.equal(await round(), 500, 'round 2: 500 of 500 echoed intact');
  await waitFor(() => fdCount(p.pid) <= before + 40, 5000).catch(() => {});
  const after = fdCount(p.pid);
  // the bound: idle pipes (8 per relay thread, 2 fds each, at most 4 threads)
  // plus the namespace socket pool refilled to its size
  t.ok(after <= before + 40, `fds after 1000 connections: ${after} (before: ${before})`);
  t.ok(p.isRunning(), `still running (${p.stderr().slice(-400)})`);
});

t.test('rk-portfwd serves nothing twice: a live api.sock is refused', async (t) => {
  const ns = await nsServers(t, 7400);
  const base = await freePorts(1);
  const first = await portfwd(t, ['--state-dir', ns.stateDir, '-p', `127.0.0.1:${base}:7400/tcp`], 1);
  await waitFor(() => existsSync(join(ns.stateDir, 'api.sock')));
  const r = run(['rk-portfwd', '--state-dir', ns.stateDir, '-p', `127.0.0.1:${base + 1}:7400/tcp`]);
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, /api\.sock is already served/);
  t.ok(first.isRunning(), 'the first one keeps running');
});
