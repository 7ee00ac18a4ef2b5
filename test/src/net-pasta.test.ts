// --net=pasta as the unprivileged user. pasta's "host" is the network
// namespace it starts in, so the test makes one as root (veth-backed
// interface with 198.51.100.2/24 and 2001:db8::2/64, default routes into it,
// no way off this machine) and runs the user's rootlesskit there; the test
// servers listen on that namespace's loopback.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { descendants, run, tempDir, waitFor } from './harness.js';
import { exited, pipelineScript, rootOnly, startServers, stderrOf, TestNetns, type Servers } from './net-harness.js';

const skip = rootOnly || (existsSync('/usr/bin/pasta') ? false : 'passt not installed (hack/setup.sh installs it)');
const PORT = 18080;
let ns: TestNetns;
let srv: Servers;

t.before(async () => {
  if (skip) return;
  ns = new TestNetns('rk-t-pasta');
  ns.ip('link add rkp0 type veth peer name rkp1');
  ns.ip('addr add 198.51.100.2/24 dev rkp0');
  ns.ip('addr add 2001:db8::2/64 dev rkp0 nodad');
  ns.ip('link set rkp0 up');
  ns.ip('link set rkp1 up');
  ns.ip('route add default via 198.51.100.1');
  ns.ip('-6 route add default via 2001:db8::1');
  srv = await startServers(PORT, { ns: ns.name });
});
t.teardown(() => {
  srv?.stop();
  ns?.destroy();
});

t.test('address, route, resolv.conf; HTTP and UDP to the host loopback through the gateway', { skip }, async (t) => {
  const r = ns.run([
    'rootlesskit', '--debug', '--net=pasta', '--copy-up=/etc', 'sh', '-c',
    `ip -o -4 addr show tap0; ip route; cat /sys/class/net/tap0/mtu; cat /etc/resolv.conf; curl -s -m 5 http://10.0.2.2:${PORT}/pasta; echo hi | socat -t2 - UDP4:10.0.2.2:${PORT}; echo; ip -6 -o addr show scope global | wc -l`,
  ]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /tap0\s+inet 10\.0\.2\.100\/24 /);
  t.match(r.stdout, /^default via 10\.0\.2\.2 dev tap0/m);
  t.match(r.stdout, /^65520$/m, 'default MTU 65520');
  t.match(r.stdout, /^nameserver 10\.0\.2\.3$/m);
  t.match(r.stdout, /^rk-net-ok \/pasta$/m);
  t.match(r.stdout, /^echo:hi$/m);
  t.match(r.stdout, /^0$/m, 'no IPv6 without --ipv6');
  t.match(r.stderr, /started pasta .*--config-net --address=10\.0\.2\.100 --netmask=24 --gateway=10\.0\.2\.2 --dns-forward=10\.0\.2\.3 --ipv4-only --tcp-ports=none --udp-ports=none/);
  t.match(r.stderr, /\[rootlesskit:pasta\] debug: Template interface: rkp0/, "pasta's own output under its prefix");
  t.notMatch(r.stderr, /Failed to send \d+ bytes to syslog/, 'syslog noise dropped');
});

t.test('--disable-host-loopback: neither the gateway nor 127.0.0.1 reaches the host loopback', { skip }, async (t) => {
  const r = ns.run(['rootlesskit', '--net=pasta', '--disable-host-loopback', 'sh', '-c', `curl -s -m 2 http://10.0.2.2:${PORT}/; echo "gw=$?"; curl -s -m 2 http://127.0.0.1:${PORT}/; echo "lo=$?"`]);
  t.equal(r.code, 0, r.stderr);
  t.notMatch(r.stdout, /rk-net-ok/);
  t.match(r.stdout, /gw=(7|28)/);
  t.match(r.stdout, /lo=7/);
  // Without the flag pasta forwards the namespace's 127.0.0.1 to the host's (its "-T auto").
  const open = ns.run(['rootlesskit', '--net=pasta', 'sh', '-c', `curl -s -m 2 http://127.0.0.1:${PORT}/lo`]);
  t.match(open.stdout, /rk-net-ok \/lo/);
});

t.test('--ipv6: the host\'s IPv6 address and gateway, the host\'s ::1 through the gateway', { skip }, async (t) => {
  const r = ns.run(['rootlesskit', '--net=pasta', '--ipv6', '--copy-up=/etc', 'sh', '-c', `ip -o -6 addr show tap0 scope global; ip -6 route show default; curl -s -m 5 "http://[2001:db8::1]:${PORT}/v6"`]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /inet6 2001:db8::2\/64/);
  t.match(r.stdout, /default via 2001:db8::1 dev tap0/);
  t.match(r.stdout, /rk-net-ok \/v6/);
});

t.test('--port-driver=implicit: pasta forwards the ports bound inside', { skip }, async (t) => {
  const inner = 18090;
  const p = ns.start(['rootlesskit', '--net=pasta', '--port-driver=implicit', '--disable-host-loopback', 'node', '-e',
    `require('http').createServer((q, s) => s.end('inside\\n')).listen(${inner}, '0.0.0.0')`]);
  const err = stderrOf(p);
  // pasta scans the namespace's bound ports every second.
  let body = '';
  await waitFor(() => {
    const r = ns.run(['curl', '-s', '-m', '1', `http://127.0.0.1:${inner}/`], 5000);
    body = r.stdout;
    return body === 'inside\n';
  }, 15_000).catch(() => {});
  t.equal(body, 'inside\n', err());
  t.match(err(), /--disable-host-loopback only closes the gateway/);
  p.kill('SIGTERM');
  await exited(p);
  const bad = ns.run(['rootlesskit', '--net=slirp4netns', '--port-driver=implicit', 'true']);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /port driver "implicit" requires --net=pasta/);
});

t.test('rk-net composed in shell', { skip }, async (t) => {
  const r = ns.run(['sh', '-c', pipelineScript('--net=pasta --disable-host-loopback', 'cat $S/net.json; ip -o -4 addr show tap0')]);
  t.match(r.stdout, /cmd-exit 0/, r.stderr);
  t.match(r.stdout, /rk-net-exit 0/, r.stderr);
  t.match(r.stdout, /"driver": "pasta"/);
  t.match(r.stdout, /"hostLoopback": false/);
  t.match(r.stdout, /inet 10\.0\.2\.100\/24/);
  t.match(r.stdout, /--- left\n$/, 'nothing left in the state dir');
});

t.test('pasta killed mid-run: CMD keeps running, pasta is restarted and serves new connections', { skip }, async (t) => {
  const dir = tempDir();
  const s = `${dir}/s`;
  const p = ns.start(['rootlesskit', '--net=pasta', '--state-dir', s, 'sleep', '60']);
  t.teardown(() => void (p.exitCode === null && p.kill('SIGKILL')));
  const err = stderrOf(p);
  await waitFor(() => existsSync(`${s}/net.json`) && existsSync(`${s}/child_pid`));
  const child = Number(readFileSync(`${s}/child_pid`, 'utf8'));
  const inside = () => run(['nsenter', '--preserve-credentials', '-U', '-n', '-t', String(child), 'curl', '-s', '-m', '3', `http://10.0.2.2:${PORT}/again`]).stdout;
  // pasta runs as passt, or re-executes itself as pasta.avx2.
  const pastas = () => descendants(p.pid!).filter((d) => /^pas(ta|st)/.test(d.comm)).map((d) => d.pid);
  const [first] = pastas();
  t.ok(first, 'pasta runs under rootlesskit');
  const killedAt = Date.now();
  process.kill(first!, 'SIGKILL');
  await waitFor(() => pastas().length === 1 && pastas()[0] !== first, 5000);
  let body = '';
  await waitFor(() => (body = inside()) !== '', 5000).catch(() => {});
  t.match(body, /^rk-net-ok \/again$/m, 'a new connection from inside through the restarted pasta');
  t.comment(`pasta serving again ${Date.now() - killedAt} ms after SIGKILL`);
  t.match(err(), /warning: pasta died \(killed by SIGKILL\): restarting \(restart 1\)\n/);
  t.equal(p.exitCode, null, 'rootlesskit kept running');
  process.kill(child, 'SIGTERM');
  t.equal(await exited(p), 255, "CMD's status");
  t.notOk(existsSync(s), 'state dir removed');
});

t.test('a missing pasta names its package', async (t) => {
  const { run } = await import('./harness.js');
  const r = run(['rootlesskit', '--net=pasta', '--pasta-binary=/nonexistent/pasta', '--disable-host-loopback', 'true']);
  t.equal(r.code, 1);
  t.match(r.stderr, /\/nonexistent\/pasta not found: correct --pasta-binary=PATH, or drop it and install the Debian package: sudo apt-get install passt\n/);
  t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
});
