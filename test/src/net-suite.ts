// The checks every NAT network driver must pass, as the unprivileged user:
// address, route and MTU inside, resolv.conf and hosts, HTTP and UDP to the
// host's loopback through the gateway (and refused with
// --disable-host-loopback), --cidr, --mtu, IPv6, --detach-netns, and the same
// driver composed in shell with rk-net.
import type { Test } from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { run, tempDir } from './harness.js';
import { httpServer, udpClient, udpEcho } from './servers.js';

export interface NatAddresses {
  ip: string;
  gateway: string;
  dns: string;
  mtu: number;
  ifname: string;
}

const curl = (url: string) => `curl -sS -m 5 ${url} 2>&1; echo " rc=$?"`;

export function natDriverSuite(t: Test, driver: string, addr: NatAddresses, opts: { ipv6?: boolean } = {}): void {
  t.test(`${driver}: addresses, route, MTU, resolv.conf, hosts, HTTP to the host via the gateway`, async (t) => {
    const http = await httpServer();
    t.teardown(http.stop);
    const r = run(['rootlesskit', `--net=${driver}`, '--copy-up=/etc', 'sh', '-c',
      `ip -o -4 addr show ${addr.ifname}; ip route show default; cat /sys/class/net/${addr.ifname}/mtu; cat /etc/resolv.conf; tail -2 /etc/hosts; ${curl(`http://${addr.gateway}:${http.port}/`)}`]);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, new RegExp(`inet ${addr.ip.replace(/\./g, '\\.')}/24 `), 'the address');
    t.match(r.stdout, new RegExp(`default via ${addr.gateway.replace(/\./g, '\\.')} dev ${addr.ifname}`), 'the default route');
    t.match(r.stdout, new RegExp(`\\n${addr.mtu}\\n`), 'the MTU');
    t.match(r.stdout, new RegExp(`nameserver ${addr.dns.replace(/\./g, '\\.')}\\n`), 'resolv.conf names the driver\'s DNS');
    t.match(r.stdout, /127\.0\.0\.1 \S+\n::1 \S+\n/, 'hosts maps the host name to loopback');
    t.match(r.stdout, /hello from the host\n rc=0/, 'HTTP through the gateway reaches the host\'s 127.0.0.1');
    t.match(r.stderr, /--disable-host-loopback is highly recommended/, 'upstream\'s warning without --disable-host-loopback');
    t.notOk(existsSync('/etc/rk-net-leak'));
  });

  t.test(`${driver}: --disable-host-loopback refuses the host's loopback; UDP echo; --mtu, --cidr`, async (t) => {
    const http = await httpServer();
    const udp = await udpEcho();
    t.teardown(() => {
      http.stop();
      udp.stop();
    });
    const off = run(['rootlesskit', `--net=${driver}`, '--disable-host-loopback', 'sh', '-c', curl(`http://${addr.gateway}:${http.port}/`)]);
    t.equal(off.code, 0, off.stderr);
    t.notMatch(off.stdout, /hello from the host/, 'no HTTP to 127.0.0.1 with --disable-host-loopback');
    t.notMatch(off.stderr, /--disable-host-loopback is highly recommended/);
    const u = run(['rootlesskit', `--net=${driver}`, ...udpClient(addr.gateway, udp.port, 'ping-udp')]);
    t.equal(u.code, 0, u.stderr);
    t.equal(u.stdout.trim(), 'ping-udp', 'a UDP datagram and its echo cross the NAT');
    const m = run(['rootlesskit', `--net=${driver}`, '--mtu=1500', '--cidr=10.0.3.0/24', 'sh', '-c', `cat /sys/class/net/${addr.ifname}/mtu; ip -o -4 addr show ${addr.ifname}; ${curl(`http://${addr.gateway.replace('10.0.2.', '10.0.3.')}:${http.port}/`)}`]);
    t.equal(m.code, 0, m.stderr);
    t.match(m.stdout, /^1500\n/);
    t.match(m.stdout, new RegExp(`inet ${addr.ip.replace('10.0.2.', '10.0.3.').replace(/\./g, '\\.')}/24`));
    t.match(m.stdout, /hello from the host/, 'the gateway of the custom CIDR works');
  });

  if (opts.ipv6) {
    t.test(`${driver}: --ipv6`, async (t) => {
      const http = await httpServer('::1');
      t.teardown(http.stop);
      const r = run(['rootlesskit', `--net=${driver}`, '--ipv6', '--copy-up=/etc', 'sh', '-c',
        `cat /etc/resolv.conf; for i in $(seq 50); do ip -6 -o addr show ${addr.ifname} scope global | grep -q fd00 && break; sleep 0.1; done; ip -6 -o addr show ${addr.ifname} scope global; ${curl(`http://[fd00::2]:${http.port}/`)}`]);
      t.equal(r.code, 0, r.stderr);
      t.match(r.stdout, /nameserver fd00::3/);
      t.match(r.stdout, /inet6 fd00::/);
      t.match(r.stdout, /hello from the host\n rc=0/, 'HTTP over IPv6 to the host\'s ::1');
    });
  }

  t.test(`${driver}: --detach-netns keeps CMD in the host network, the namespace at STATE/netns`, async (t) => {
    const r = run(['rootlesskit', `--net=${driver}`, '--detach-netns', 'sh', '-c',
      `readlink /proc/self/ns/net; nsenter --net=$ROOTLESSKIT_STATE_DIR/netns ip -o -4 addr show ${addr.ifname}`]);
    t.equal(r.code, 0, r.stderr);
    const [ns, inner] = r.stdout.trim().split('\n');
    t.equal(ns, run(['readlink', '/proc/self/ns/net']).stdout.trim(), 'CMD stays in the host network namespace');
    t.match(inner, new RegExp(`inet ${addr.ip.replace(/\./g, '\\.')}/24`), 'the detached namespace has the driver\'s address');
  });

  t.test(`${driver}: composed in shell with rk-unshare, rk-idmap, rk-net --release`, async (t) => {
    const http = await httpServer();
    t.teardown(http.stop);
    const dir = tempDir();
    const s = `${dir}/s`;
    const script = `set -e
rk-unshare --user --mount --net --gate --state-dir ${s} -- sh -c 'ip -o -4 addr show ${addr.ifname}; ${curl(`http://${addr.gateway}:${http.port}/`).replace(/'/g, "'\\''")}' > ${dir}/out &
while [ ! -p ${s}/gate ]; do sleep 0.01; done
rk-idmap --state-dir ${s}
rk-net --net=${driver} --state-dir ${s} --release
wait $!
cat ${dir}/out`;
    const r = run(['sh', '-c', script]);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, new RegExp(`inet ${addr.ip.replace(/\./g, '\\.')}/24`));
    t.match(r.stdout, /hello from the host\n rc=0/);
    t.notOk(existsSync(s), 'state dir removed by rk-unshare');
  });

  t.test(`${driver}: a failed start leaves nothing behind`, async (t) => {
    const before = readdirSync('/tmp').filter((n) => n.startsWith('rootlesskit')).sort();
    const r = run(['rootlesskit', `--net=${driver}`, '--mtu=70000', 'true']);
    t.equal(r.code, 1);
    t.match(r.stderr, /--mtu must be/);
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    const c = run(['rootlesskit', `--net=${driver}`, '--cidr=10.0.2.100/24', 'true']);
    t.equal(c.code, 1);
    t.match(c.stderr, /cidr must be like 10\.0\.2\.0\/24/);
    t.same(readdirSync('/tmp').filter((n) => n.startsWith('rootlesskit')).sort(), before, 'no state dir left');
  });
}
