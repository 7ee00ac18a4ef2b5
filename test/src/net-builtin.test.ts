// --net=builtin (our embedded libslirp engine) and --net=gvisor-tap-vsock (the
// same engine with upstream's gvisor-tap-vsock addresses).
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { run, start, tempDir, waitFor } from './harness.js';
import { natDriverSuite } from './net-suite.js';
import { dnsServer } from './servers.js';

natDriverSuite(t, 'builtin', { ip: '10.0.2.100', gateway: '10.0.2.2', dns: '10.0.2.3', mtu: 65520, ifname: 'tap0' }, { ipv6: true });
natDriverSuite(t, 'gvisor-tap-vsock', { ip: '10.0.2.100', gateway: '10.0.2.1', dns: '10.0.2.1', mtu: 65520, ifname: 'tap0' });

t.test('builtin: DNS through 10.0.2.3 reaches the resolver the engine forwards to; ping the gateway', async (t) => {
  const dns = await dnsServer();
  t.teardown(dns.stop);
  const r = run(['rootlesskit', '--net=builtin', '--copy-up=/etc', '--disable-host-loopback', 'sh', '-c',
    'getent ahostsv4 rk-test.example | head -1; ping -c 1 -W 3 10.0.2.2 >/dev/null && echo ping-ok'], { env: { RK_TEST_DNS_UPSTREAM: `127.0.0.1:${dns.port}` } });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^198\.51\.100\.7 /, 'the name was resolved by the test\'s own responder via the engine');
  t.match(r.stdout, /ping-ok/, 'ICMP echo to the gateway');
});

t.test('builtin: rootlessctl info, net.json, and the engine process (no slirp4netns)', async (t) => {
  const dir = tempDir();
  const s = `${dir}/s`;
  const p = start(['rootlesskit', '--state-dir', s, '--net=builtin', '--disable-host-loopback', 'sleep', '30']);
  await waitFor(() => existsSync(`${s}/net.json`) && existsSync(`${s}/api.sock`));
  const info = run(['rootlessctl', '--socket', `${s}/api.sock`, 'info', '--json']);
  t.same(JSON.parse(info.stdout).networkDriver, { driver: 'builtin', dns: ['10.0.2.3'], childIP: '10.0.2.100' });
  const net = JSON.parse(readFileSync(`${s}/net.json`, 'utf8'));
  t.match(net, { driver: 'builtin', ifname: 'tap0', mtu: 65520, ip: '10.0.2.100', gateway: '10.0.2.2', hostLoopback: false });
  const kids = run(['ps', '-o', 'pid=,comm=', '--ppid', String(p.pid)]).stdout.trim().split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/));
  t.ok(kids.every(([, c]) => c !== 'slirp4netns'), `children: ${kids.join(', ')}`);
  const engine = kids.find(([, c]) => c === 'rk-nat-engine');
  t.ok(engine, `the sandboxed engine is a child of rootlesskit: ${kids.join(', ')}`);
  t.equal(net.helperPid, Number(engine?.[0]), 'net.json names the engine\'s pid');
  const code = await new Promise((resolve) => {
    p.on('exit', resolve);
    process.kill(Number(readFileSync(`${s}/child_pid`, 'utf8')), 'SIGTERM');
  });
  t.equal(code, 255);
  t.notOk(existsSync(s));
});
