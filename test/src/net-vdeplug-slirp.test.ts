// --net=vdeplug_slirp as the unprivileged user: vde_plug's slirp:// plug
// behind a tap in the namespace (our frame pump in between). Servers run on
// the host's loopback; nothing leaves this machine.
import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { descendants, run, start, tempDir, waitFor } from './harness.js';
import { exited, freePort, pipelineScript, startServers, stderrOf, type Servers } from './net-harness.js';

const installed = existsSync('/usr/bin/vde_plug') ? false : 'vde2 not installed (hack/setup.sh installs it)';
let srv: Servers;

t.before(async () => {
  if (!installed) srv = await startServers(await freePort());
});
t.teardown(() => srv?.stop());

t.test('address, route, resolv.conf; HTTP, UDP and ICMP to the host through the gateway', { skip: installed }, async (t) => {
  const p = srv.port;
  const r = run([
    'rootlesskit', '--net=vdeplug_slirp', '--copy-up=/etc', 'sh', '-c',
    `ip -o -4 addr show tap0; ip route; cat /sys/class/net/tap0/mtu; cat /etc/resolv.conf; curl -s -m 5 http://10.0.2.2:${p}/vde; ` +
      `echo ping | socat -t2 - UDP4:10.0.2.2:${p}; echo; ping -c1 -W3 10.0.2.2 >/dev/null && echo icmp-ok`,
  ]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /tap0\s+inet 10\.0\.2\.100\/24 /);
  t.match(r.stdout, /^default via 10\.0\.2\.2 dev tap0/m);
  t.match(r.stdout, /^1500$/m, 'default MTU 1500');
  t.match(r.stdout, /^nameserver 10\.0\.2\.3$/m);
  t.match(r.stdout, /^rk-net-ok \/vde$/m, 'HTTP from the host loopback via the gateway');
  t.match(r.stdout, /^echo:ping$/m, 'UDP via the gateway');
  t.match(r.stdout, /^icmp-ok$/m, 'slirp answers ping');
  t.match(r.stderr, /--disable-host-loopback is highly recommended/);
});

t.test('--disable-host-loopback: the host loopback is refused', { skip: installed }, async (t) => {
  const r = run(['rootlesskit', '--net=vdeplug_slirp', '--disable-host-loopback', 'sh', '-c', `curl -s -m 5 http://10.0.2.2:${srv.port}/; echo "curl=$?"`]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /curl=7/, 'connection refused');
  t.notMatch(r.stdout, /rk-net-ok/);
  t.notMatch(r.stderr, /--disable-host-loopback is highly recommended/);
});

t.test('--ipv6: fd00::100/64, the host\'s ::1 through fd00::2', { skip: installed }, async (t) => {
  const r = run(['rootlesskit', '--net=vdeplug_slirp', '--ipv6', '--copy-up=/etc', 'sh', '-c', `ip -o -6 addr show tap0 scope global; ip -6 route show default; cat /etc/resolv.conf; curl -s -m 5 "http://[fd00::2]:${srv.port}/v6"`]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /inet6 fd00::100\/64/);
  t.match(r.stdout, /default via fd00::2 dev tap0/);
  t.match(r.stdout, /nameserver fd00::3/);
  t.match(r.stdout, /rk-net-ok \/v6/);
});

t.test('--mtu and --cidr reach slirp', { skip: installed }, async (t) => {
  const r = run(['rootlesskit', '--net=vdeplug_slirp', '--mtu=9000', '--cidr=10.0.9.0/24', 'sh', '-c', `cat /sys/class/net/tap0/mtu; ip -o -4 addr show tap0; curl -s -m 5 http://10.0.9.2:${srv.port}/cidr`]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^9000$/m);
  t.match(r.stdout, /inet 10\.0\.9\.100\/24/);
  t.match(r.stdout, /rk-net-ok \/cidr/);
  const big = run(['rootlesskit', '--net=vdeplug_slirp', '--mtu=9300', 'true']);
  t.equal(big.code, 1);
  t.match(big.stderr, /--mtu 9300 is too large for vdeplug_slirp.*9216/);
});

t.test('rk-net composed in shell', { skip: installed }, async (t) => {
  const r = run(['sh', '-c', pipelineScript('--net=vdeplug_slirp', `cat $S/net.json; curl -s -m 5 http://10.0.2.2:${srv.port}/pipe`)]);
  t.match(r.stdout, /cmd-exit 0/, r.stderr);
  t.match(r.stdout, /rk-net-exit 0/, r.stderr);
  t.match(r.stdout, /"driver": "vdeplug_slirp"/);
  t.match(r.stdout, /"ip": "10\.0\.2\.100"/);
  t.match(r.stdout, /rk-net-ok \/pipe/);
  t.match(r.stdout, /--- left\n$/, 'nothing left in the state dir');
});

t.test('vde_plug killed mid-run: CMD keeps running, vde_plug is restarted behind a new tap0 and serves new connections', { skip: installed }, async (t) => {
  const dir = tempDir();
  const s = `${dir}/s`;
  const p = start(['rootlesskit', '--net=vdeplug_slirp', '--state-dir', s, 'sleep', '60']);
  t.teardown(() => void (p.exitCode === null && p.kill('SIGKILL')));
  const err = stderrOf(p);
  await waitFor(() => existsSync(`${s}/net.json`) && existsSync(`${s}/child_pid`));
  const child = Number(readFileSync(`${s}/child_pid`, 'utf8'));
  const inside = () => run(['nsenter', '--preserve-credentials', '-U', '-n', '-t', String(child), 'curl', '-s', '-m', '3', `http://10.0.2.2:${srv.port}/again`]).stdout;
  const plugs = () => descendants(p.pid!).filter((d) => d.comm === 'vde_plug').map((d) => d.pid);
  const [first] = plugs();
  t.ok(first, 'vde_plug runs under rootlesskit');
  const killedAt = Date.now();
  process.kill(first!, 'SIGKILL');
  await waitFor(() => plugs().length === 1 && plugs()[0] !== first, 5000);
  let body = '';
  await waitFor(() => (body = inside()) !== '', 5000).catch(() => {});
  t.match(body, /^rk-net-ok \/again$/m, 'a new connection from inside through the restarted vde_plug');
  t.comment(`vde_plug serving again ${Date.now() - killedAt} ms after SIGKILL`);
  await waitFor(() => /restarting/.test(err()), 3000).catch(() => {});
  t.match(err(), /warning: vde_plug died \(killed by SIGKILL\): restarting \(restart 1\)\n/, `one warning line (${err()})`);
  t.equal(p.exitCode, null, 'rootlesskit kept running');
  process.kill(child, 'SIGTERM');
  t.equal(await exited(p), 255, "CMD's status");
  t.notOk(existsSync(s), 'state dir removed');
  t.same(readdirSync(dir), []);
});

t.test('a missing vde_plug names its package', async (t) => {
  const r = run(['rootlesskit', '--net=vdeplug_slirp', '--vde-plug-binary=/nonexistent/vde_plug', 'true']);
  t.equal(r.code, 1);
  t.match(r.stderr, /\/nonexistent\/vde_plug not found: correct --vde-plug-binary=PATH, or drop it and install the Debian package: sudo apt-get install vde2\n/);
  t.equal(r.stderr.trim().split('\n').filter((l) => !/warning/.test(l)).length, 1, 'one line');
});
