// --net=vpnkit as the unprivileged user, against fixtures/fake-vpnkit.mjs: a
// small peer that speaks vpnkit's vmnet protocol (handshake, VIF, frames with
// a little-endian length) and answers ARP, DHCP, ICMP echo and UDP (an echo
// on the gateway; the host IP relayed to the host's 127.0.0.1, as vpnkit
// does). No real vpnkit is packaged for Debian: see the README.
import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { descendants, run, start, tempDir, waitFor } from './harness.js';
import { exited, fakeVpnkit, freePort, pipelineScript, startServers, stderrOf, type Servers } from './net-harness.js';

let srv: Servers;
const VPNKIT = `--vpnkit-binary=${fakeVpnkit}`;

t.before(async () => {
  srv = await startServers(await freePort());
});
t.teardown(() => srv?.stop());

t.test('handshake, VIF MAC, DHCP address; ICMP and UDP through the peer', async (t) => {
  const r = run([
    'rootlesskit', '--debug', '--net=vpnkit', VPNKIT, '--copy-up=/etc', 'sh', '-c',
    'ip -o -4 addr show tap0; ip route; cat /sys/class/net/tap0/address /sys/class/net/tap0/mtu; cat /etc/resolv.conf; ' +
      `ping -c1 -W3 192.168.65.1 >/dev/null && echo icmp-ok; echo hi | socat -t2 - UDP4:192.168.65.1:7; echo; echo host | socat -t2 - UDP4:192.168.65.2:${srv.port}; echo`,
  ]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /tap0\s+inet 192\.168\.65\.3\/24 /, 'the address vpnkit offered');
  t.match(r.stdout, /^default via 192\.168\.65\.1 dev tap0/m);
  t.match(r.stdout, /^02:50:00:00:00:03$/m, 'the MAC from the VIF');
  t.match(r.stdout, /^1500$/m);
  t.match(r.stdout, /^nameserver 192\.168\.65\.1$/m);
  t.match(r.stdout, /^icmp-ok$/m);
  t.match(r.stdout, /^hi$/m, 'UDP echo from the gateway');
  t.match(r.stdout, /^echo:host$/m, 'UDP to the host loopback through 192.168.65.2');
  t.match(r.stderr, /\[rootlesskit:vpnkit\] debug: fake-vpnkit: args --ethernet \/\S+\/vpnkit-ethernet\.sock --mtu 1500 \(/);
  t.match(r.stderr, /client init: VMN3T version 22/);
  t.notMatch(r.stderr, /unexpected MAC/, 'every frame came from the VIF\'s MAC');
});

t.test('--disable-host-loopback: vpnkit gets --host-ip 0.0.0.0 and the host IP is refused', async (t) => {
  const r = run(['rootlesskit', '--debug', '--net=vpnkit', VPNKIT, '--disable-host-loopback', 'sh', '-c', `echo host | socat -t2 - UDP4:192.168.65.2:${srv.port}; echo "socat=$?"`]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /fake-vpnkit: args .* --host-ip 0\.0\.0\.0/);
  t.notMatch(r.stdout, /echo:host/);
  t.match(r.stderr, /Connection refused/);
});

t.test('--ipv6 is discarded, --mtu other than 1500 warned about, --cidr refused (as upstream)', async (t) => {
  const r = run(['rootlesskit', '--net=vpnkit', VPNKIT, '--disable-host-loopback', '--ipv6', '--mtu=4000', 'sh', '-c', 'cat /sys/class/net/tap0/mtu; ip -6 -o addr show scope global | wc -l']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /--ipv6 is discarded for --net=vpnkit/);
  t.match(r.stderr, /vpnkit is known to have issues with non-1500 MTU \(current: 4000\)/);
  t.match(r.stdout, /^4000\n0\n$/);
  const c = run(['rootlesskit', '--net=vpnkit', VPNKIT, '--cidr=10.0.5.0/24', 'true']);
  t.equal(c.code, 1);
  t.match(c.stderr, /custom cidr is not supported for --net=vpnkit/);
});

t.test('rk-net composed in shell: socket in the state dir, net.json, nothing left', async (t) => {
  const r = run(['sh', '-c', pipelineScript(`--net=vpnkit ${VPNKIT} --disable-host-loopback`, 'cat $S/net.json; ls $S; echo hi | socat -t2 - UDP4:192.168.65.1:7')]);
  t.match(r.stdout, /cmd-exit 0/, r.stderr);
  t.match(r.stdout, /rk-net-exit 0/, r.stderr);
  t.match(r.stdout, /"driver": "vpnkit"/);
  t.match(r.stdout, /"vpnkitEthernet": "\/tmp\/rk-net-test-\w+\/s\/vpnkit-ethernet\.sock"/);
  t.match(r.stdout, /^hi$/m);
  t.match(r.stdout, /--- left\n$/, 'nothing left in the state dir');
});

t.test('rk-net PID: the socket lives in a private temporary dir, removed at the end', async (t) => {
  const rt = tempDir();
  const r = run(['sh', '-c', [
    'rk-unshare --map-root --net --state-dir $RT/s -- sh -c "sleep 1; echo hi | socat -t2 - UDP4:192.168.65.1:7" > $RT/out &',
    'U=$!',
    'while [ ! -e $RT/s/child_pid ]; do sleep 0.02; done',
    `rk-net --net=vpnkit ${VPNKIT} --disable-host-loopback $(cat $RT/s/child_pid) 2>$RT/err; echo "rk-net-exit $?"`,
    'wait $U; cat $RT/out; ls -A $RT',
  ].join('\n')], { env: { RT: rt, XDG_RUNTIME_DIR: rt } });
  t.match(r.stdout, /rk-net-exit 0/, r.stdout + r.stderr);
  t.match(r.stdout, /^hi$/m);
  t.match(r.stdout, /^err\nout\n$/m, 'no rk-vpnkit-* dir left');
});

t.test('vpnkit killed mid-run: not restarted, said so in one line; CMD keeps running; its status is ours, nothing is left', async (t) => {
  const dir = tempDir();
  const s = `${dir}/s`;
  const p = start(['rootlesskit', '--net=vpnkit', VPNKIT, '--disable-host-loopback', '--state-dir', s, 'sleep', '60']);
  t.teardown(() => void (p.exitCode === null && p.kill('SIGKILL')));
  const err = stderrOf(p);
  await waitFor(() => existsSync(`${s}/net.json`) && existsSync(`${s}/child_pid`));
  const child = Number(run(['cat', `${s}/child_pid`]).stdout);
  const { helperPid } = JSON.parse(run(['cat', `${s}/net.json`]).stdout) as { helperPid: number };
  t.ok(descendants(p.pid!).some((d) => d.pid === helperPid), 'net.json names a process rootlesskit started');
  process.kill(helperPid, 'SIGKILL');
  await waitFor(() => /CMD keeps running/.test(err()), 5000);
  t.match(err(), /\[rootlesskit:parent\] error: vpnkit died \(killed by SIGKILL\): it is not restarted; CMD keeps running without network\n/);
  await new Promise((r) => setTimeout(r, 200));
  t.equal(p.exitCode, null, 'rootlesskit kept running');
  t.ok(existsSync(`/proc/${child}`), 'CMD kept running');
  process.kill(child, 'SIGTERM');
  t.equal(await exited(p), 255, "CMD's status");
  t.notOk(existsSync(s), 'state dir removed');
  t.same(readdirSync(dir), []);
});

t.test('bad input: no vpnkit binary; a peer that is not vpnkit', async (t) => {
  const r = run(['rootlesskit', '--net=vpnkit', '--vpnkit-binary=/nonexistent/vpnkit', '--disable-host-loopback', 'true']);
  t.equal(r.code, 1);
  t.match(r.stderr, /^\[rootlesskit:parent\] error: \/nonexistent\/vpnkit not found: VPNKit is not packaged by Debian: build it from https:\/\/github\.com\/moby\/vpnkit and pass --vpnkit-binary=PATH/m);
  t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  const dir = tempDir();
  const s = `${dir}/s`;
  // A "vpnkit" that exits at once: the start fails with its status, nothing is left.
  const bad = run(['rootlesskit', '--net=vpnkit', '--vpnkit-binary=/bin/false', '--disable-host-loopback', '--state-dir', s, 'true']);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /vpnkit failed to start: false exited with status 1/);
  t.notOk(existsSync(s));
});
