// --net=lxc-user-nic as the unprivileged user. Root's part is done by the test
// inside a network namespace of its own: a bridge (lxcbr0, 198.51.100.1/24)
// with dnsmasq serving DHCP and DNS on it, and a line allowing the user a veth
// on it in /etc/lxc/lxc-usernet (restored afterwards). The user's rootlesskit
// runs in that namespace; every packet stays there.
import t from 'tap';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tempDir, testUserName, waitFor } from './harness.js';
import { exited, pipelineScript, rootOnly, startServers, stderrOf, TestNetns, type Servers } from './net-harness.js';

const BIN = ['/usr/libexec/lxc/lxc-user-nic', '/usr/lib/x86_64-linux-gnu/lxc/lxc-user-nic'].find((p) => existsSync(p));
const DNSMASQ = existsSync('/usr/sbin/dnsmasq');
const skip = rootOnly || (!BIN && 'lxc not installed (hack/setup.sh installs it)') || (!DNSMASQ && 'dnsmasq-base not installed (hack/setup.sh installs it)');
const USERNET = '/etc/lxc/lxc-usernet';
const PORT = 18081;
let ns: TestNetns;
let srv: Servers;
let usernetBefore: string | undefined;

t.before(async () => {
  if (skip) return;
  usernetBefore = existsSync(USERNET) ? readFileSync(USERNET, 'utf8') : undefined;
  writeFileSync(USERNET, `${usernetBefore ?? ''}${testUserName} veth lxcbr0 10\n`);
  ns = new TestNetns('rk-t-lxc');
  ns.ip('link add lxcbr0 type bridge');
  ns.ip('addr add 198.51.100.1/24 dev lxcbr0');
  ns.ip('link set lxcbr0 up');
  const dnsmasq = ns.background([
    'dnsmasq', '--conf-file=/dev/null', '--keep-in-foreground', '--log-facility=-', '--no-resolv', '--no-hosts', '--no-ping',
    '--bind-interfaces', '--interface=lxcbr0', '--except-interface=lo', '--listen-address=198.51.100.1',
    '--dhcp-range=198.51.100.50,198.51.100.99,255.255.255.0,1h', '--dhcp-leasefile=/dev/null', '--user=root', '--pid-file=',
    '--address=/rk-test.internal/198.51.100.1',
  ]);
  await new Promise<void>((resolve, reject) => {
    dnsmasq.once('exit', (c) => reject(new Error(`dnsmasq exited (${c})`)));
    dnsmasq.stderr!.on('data', (d: Buffer) => /DHCP, IP range/.test(d.toString()) && resolve());
  });
  srv = await startServers(PORT, { ns: ns.name, addrs: ['198.51.100.1'] });
});
t.teardown(() => {
  srv?.stop();
  ns?.destroy();
  if (!skip) {
    if (usernetBefore === undefined) rmSync(USERNET, { force: true });
    else writeFileSync(USERNET, usernetBefore);
  }
});

t.test('veth on the bridge, address by DHCP; HTTP, UDP and DNS from the bridge', { skip }, async (t) => {
  const r = ns.run([
    'rootlesskit', '--debug', '--net=lxc-user-nic', '--copy-up=/etc', 'sh', '-c',
    `ip -o -4 addr show eth0; ip route; cat /sys/class/net/eth0/mtu; cat /etc/resolv.conf; curl -s -m 5 http://198.51.100.1:${PORT}/lxc; ` +
      `echo hi | socat -t2 - UDP4:198.51.100.1:${PORT}; echo; getent hosts rk-test.internal; ` +
      // The processes in this network namespace (not the machine's: a host's own dhclient does not count).
      `me=$(readlink /proc/self/ns/net); for p in /proc/[0-9]*; do [ "$(readlink $p/ns/net 2>/dev/null)" = "$me" ] && cat $p/comm 2>/dev/null; done | sort | tr '\\n' ' '`,
  ]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /eth0\s+inet 198\.51\.100\.(5\d|[6-9]\d)\/24 /, 'an address from the DHCP range');
  t.match(r.stdout, /^default via 198\.51\.100\.1 dev eth0/m);
  t.match(r.stdout, /^1500$/m);
  t.match(r.stdout, /^nameserver 198\.51\.100\.1$/m, 'the DNS server DHCP named');
  t.match(r.stdout, /^rk-net-ok \/lxc$/m);
  t.match(r.stdout, /^echo:hi$/m);
  t.match(r.stdout, /^198\.51\.100\.1\s+rk-test\.internal$/m, 'resolved by the bridge\'s dnsmasq');
  t.notMatch(r.stdout, /dhclient|udhcpc|dhcpcd/, 'no DHCP client process inside');
  t.match(r.stderr, /--disable-host-loopback is implicitly set for lxc-user-nic/);
  t.match(r.stderr, /\[rootlesskit:lxc-user-nic\] debug: eth0:\d+:veth/, "lxc-user-nic's output under its prefix");
});

t.test('rk-net composed in shell', { skip }, async (t) => {
  const r = ns.run(['sh', '-c', pipelineScript('--net=lxc-user-nic', `cat $S/net.json; curl -s -m 5 http://198.51.100.1:${PORT}/pipe`)]);
  t.match(r.stdout, /cmd-exit 0/, r.stderr);
  t.match(r.stdout, /rk-net-exit 0/, r.stderr);
  t.match(r.stdout, /"driver": "lxc-user-nic"/);
  t.match(r.stdout, /"ifname": "eth0"/);
  t.match(r.stdout, /"gateway": "198\.51\.100\.1"/);
  t.match(r.stdout, /rk-net-ok \/pipe/);
  t.match(r.stdout, /--- left\n$/, 'nothing left in the state dir');
});

t.test('--detach-netns: the veth lands in STATE/netns', { skip }, async (t) => {
  const r = ns.run(['rootlesskit', '--net=lxc-user-nic', '--detach-netns', 'sh', '-c',
    `nsenter --net=$ROOTLESSKIT_STATE_DIR/netns sh -c 'ip -o -4 addr show eth0; curl -s -m 5 http://198.51.100.1:${PORT}/detached'; ip -o link | grep -c eth0; true`]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /eth0\s+inet 198\.51\.100\.\d+\/24/);
  t.match(r.stdout, /rk-net-ok \/detached/);
  t.match(r.stdout, /^0$/m, 'CMD stays in the host network namespace');
});

t.test('bad input: a bridge the user may not use; a missing binary', { skip }, async (t) => {
  const dir = tempDir();
  const s = `${dir}/s`;
  const r = ns.run(['rootlesskit', '--net=lxc-user-nic', '--lxc-user-nic-bridge=rkbogus0', '--state-dir', s, 'true']);
  t.equal(r.code, 1);
  t.match(r.stderr, /lxc-user-nic failed: lxc-user-nic exited with status 1/);
  t.match(r.stderr, /lxc-usernet/, 'names the file root must edit');
  t.notOk(existsSync(s), 'nothing left');
  const m = ns.run(['rootlesskit', '--net=lxc-user-nic', '--lxc-user-nic-binary=/nonexistent/lxc-user-nic', 'true']);
  t.equal(m.code, 1);
  t.match(m.stderr, /\/nonexistent\/lxc-user-nic not found: correct --lxc-user-nic-binary=PATH, or drop it and install the Debian package: sudo apt-get install lxc\n/);
});

t.test('a DHCP server that does not answer: a clear error, nothing left', { skip }, async (t) => {
  // A second bridge without a DHCP server.
  ns.ip('link add lxcbr1 type bridge');
  ns.ip('link set lxcbr1 up');
  writeFileSync(USERNET, `${readFileSync(USERNET, 'utf8')}${testUserName} veth lxcbr1 10\n`);
  const dir = tempDir();
  const s = `${dir}/s`;
  const p = ns.start(['rootlesskit', '--net=lxc-user-nic', '--lxc-user-nic-bridge=lxcbr1', '--state-dir', s, 'true']);
  const err = stderrOf(p);
  await waitFor(() => existsSync(`${s}/child_pid`) || /DHCP/.test(err()), 40_000).catch(() => {});
  t.equal(await exited(p), 1);
  t.match(err(), /could not get an address by DHCP on eth0 \(bridge lxcbr1\): no DHCP answer within 30 s/);
  t.notOk(existsSync(s));
});
