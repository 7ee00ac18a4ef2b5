// CIDR parsing and the flags → NetConfig rules (defaults per driver, upstream's
// refusals and warnings), without starting anything.
import t from 'tap';
import { addrAt, ipBytes, parseCidr } from '../src/addr.js';
import { resolveNetConfig } from '../src/config.js';
import type { NetFlags } from '../src/flags.js';

const flags = (over: Partial<NetFlags> = {}): NetFlags => ({
  net: 'slirp4netns',
  mtu: 0,
  'disable-host-loopback': true,
  ipv6: false,
  'detach-netns': false,
  'slirp4netns-binary': 'slirp4netns',
  'slirp4netns-sandbox': 'auto',
  'slirp4netns-seccomp': 'auto',
  'pasta-binary': 'pasta',
  'vpnkit-binary': 'vpnkit',
  'lxc-user-nic-binary': '/usr/libexec/lxc/lxc-user-nic',
  'lxc-user-nic-bridge': 'lxcbr0',
  'vde-plug-binary': 'vde_plug',
  ...over,
});

t.test('CIDRs', async (t) => {
  t.same(parseCidr('10.0.3.0/24'), { network: '10.0.3.0', prefix: 24 });
  t.throws(() => parseCidr('10.0.2.100/24'), /cidr must be like 10\.0\.2\.0\/24, not like 10\.0\.2\.100\/24 \(use --cidr=10\.0\.2\.0\/24\)/);
  t.throws(() => parseCidr('10.0.2.0'), /invalid --cidr/);
  t.throws(() => parseCidr('300.0.2.0/24'), /invalid --cidr/);
  t.throws(() => parseCidr('10.0.2.0/31'), /too small/);
  t.equal(addrAt({ network: '10.0.2.0', prefix: 24 }, 100), '10.0.2.100');
  t.equal(addrAt({ network: '172.16.0.0', prefix: 12 }, 256 + 3), '172.16.1.3');
  t.throws(() => addrAt({ network: '10.0.2.0', prefix: 26 }, 100), /has no host \.100/);
  t.same([...ipBytes('10.0.2.2')], [10, 0, 2, 2]);
  t.same([...ipBytes('fd00::2')], [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
  t.same([...ipBytes('::1')].slice(14), [0, 1]);
});

t.test('defaults per driver, refusals and warnings as upstream', async (t) => {
  const warn: string[] = [];
  const w = (m: string) => warn.push(m);
  t.match(resolveNetConfig(flags(), 'none', w), { driver: 'slirp4netns', mtu: 65520, ifname: 'tap0', cidr: { network: '10.0.2.0', prefix: 24 } });
  t.match(resolveNetConfig(flags({ net: 'builtin', mtu: 1500, ifname: 'eth1' }), 'none', w), { mtu: 1500, ifname: 'eth1' });
  t.same(warn, []);
  resolveNetConfig(flags({ 'disable-host-loopback': false }), 'none', w);
  t.match(warn.pop(), /--disable-host-loopback is highly recommended/);
  t.throws(() => resolveNetConfig(flags({ mtu: 65522 }), 'none', w), /--mtu must be 0 .* or an integer from 68 to 65521, got 65522/);
  t.throws(() => resolveNetConfig(flags({ mtu: 67 }), 'none', w), /got 67/);
  t.throws(() => resolveNetConfig(flags({ net: 'host', cidr: '10.0.3.0/24' }), 'none', w), /custom cidr is not supported for --net=host/);
  t.throws(() => resolveNetConfig(flags({ net: 'none', ifname: 'x' }), 'none', w), /ifname cannot be specified for --net=none/);
  t.throws(() => resolveNetConfig(flags({ ifname: 'a/b' }), 'none', w), /invalid --ifname/);
  t.throws(() => resolveNetConfig(flags({ net: 'host', 'detach-netns': true }), 'none', w), /--detach-netns requires a non-host network/);
  t.throws(() => resolveNetConfig(flags({ net: 'none' }), 'slirp4netns', w), /network "none" requires either port driver "none" or "builtin"/);
  t.throws(() => resolveNetConfig(flags({ 'slirp4netns-sandbox': 'true', 'detach-netns': true }), 'none', w), /conflicts with --detach-netns/);
  resolveNetConfig(flags({ net: 'none', ipv6: true }), 'none', w);
  t.match(warn.pop(), /--ipv6 is discarded for --net=none/);
  t.equal(resolveNetConfig(flags({ net: 'gvisor-tap-vsock' }), 'none', w).mtu, 65520);
});
