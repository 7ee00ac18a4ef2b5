// What each helper-running driver asks its helper for, from the flags.
import t from 'tap';
import { DEFAULT_CIDR } from '../src/addr.js';
import { ipv6FromOutput, pastaArgs, type PastaFeatures } from '../src/drivers/pasta.js';
import { slirpUrl, vdeAddresses } from '../src/drivers/vdeplug-slirp.js';
import { vpnkitArgs } from '../src/drivers/vpnkit.js';
import type { NetConfig, NetInfo, NetTarget } from '../src/types.js';

const cfg = (o: Partial<NetConfig> = {}): NetConfig => ({
  driver: 'pasta', mtu: 65520, cidr: DEFAULT_CIDR, ifname: 'tap0', disableHostLoopback: false, ipv6: false, detachNetns: false, portDriver: 'none',
  slirp4netns: { binary: 'slirp4netns', sandbox: 'auto', seccomp: 'auto' }, pastaBinary: 'pasta', vpnkitBinary: 'vpnkit',
  lxcUserNic: { binary: 'x', bridge: 'lxcbr0' }, vdePlugBinary: 'vde_plug', ...o,
});
const target: NetTarget = { pid: 42, userFd: 5, netFd: 6, netnsPath: '/proc/42/ns/net', usernsPath: '/proc/42/ns/user', detached: false };
const info: NetInfo = { driver: 'pasta', ifname: 'tap0', mtu: 65520, ip: '10.0.2.100', prefix: 24, gateway: '10.0.2.2', dns: ['10.0.2.3'], hostLoopback: true, sockets: {} };
const old: PastaFeatures = { configNet: true, noMapGw: true, dnsForward: true, hostLoToNsLo: false, nsPorts: true };

t.test('pasta: upstream\'s arguments, adapted to the features found', async (t) => {
  t.same(pastaArgs(target, cfg(), old, info, '/s/.pasta.ready'), [
    '--stderr', '--ns-ifname=tap0', '--mtu=65520', '--config-net', '--address=10.0.2.100', '--netmask=24', '--gateway=10.0.2.2',
    '--dns-forward=10.0.2.3', '--ipv4-only', '--tcp-ports=none', '--udp-ports=none', '--foreground', '--pid=/s/.pasta.ready', '42',
  ]);
  const closed = pastaArgs(target, cfg({ disableHostLoopback: true, ipv6: true }), { ...old, hostLoToNsLo: true }, info, 'p');
  t.ok(closed.includes('--no-map-gw'));
  t.notOk(closed.includes('--ipv4-only'));
  t.ok(closed.includes('--tcp-ns=none') && closed.includes('--udp-ns=none'), 'the namespace\'s 127.0.0.1 is not forwarded to the host\'s');
  t.ok(closed.includes('--host-lo-to-ns-lo'));
  const implicit = pastaArgs(target, cfg({ disableHostLoopback: true, portDriver: 'implicit' }), old, info, 'p');
  t.ok(implicit.includes('--tcp-ports=auto') && implicit.includes('--udp-ports=auto'));
  t.notOk(implicit.includes('--tcp-ns=none'), 'old pasta stops scanning with -T none');
  const detached = pastaArgs({ ...target, detached: true, netnsPath: '/proc/42/root/s/netns' }, cfg(), old, info, 'p');
  t.same(detached.slice(-2), ['--userns=/proc/42/ns/user', '--netns=/proc/42/root/s/netns']);
  t.throws(() => pastaArgs(target, cfg({ disableHostLoopback: true }), { ...old, noMapGw: false }, info, 'p'), /no --no-map-gw/);
});

t.test('pasta: the IPv6 address and gateway it printed', async (t) => {
  const lines = ['DNS:', '    10.255.255.53', 'NDP/DHCPv6:', '    assign: 2001:db8::2', '    router: 2001:db8::1', '    our link-local: fe80::1', 'other'];
  t.same(ipv6FromOutput(lines), { ip: '2001:db8::2', prefix: 64, gateway: '2001:db8::1' });
  t.equal(ipv6FromOutput(['DHCP:', '    assign: 10.0.2.100']), undefined);
});

t.test('vdeplug_slirp: the slirp:// URL (values with "/" quoted)', async (t) => {
  const c = cfg({ driver: 'vdeplug_slirp', mtu: 1500 });
  t.equal(slirpUrl(c, vdeAddresses(c)), "slirp:///v4/addr='10.0.2.2/24'/vnameserver=10.0.2.3/dhcp=10.0.2.100/mtu=1500");
  const c6 = cfg({ driver: 'vdeplug_slirp', mtu: 9000, ipv6: true, disableHostLoopback: true, cidr: { network: '10.0.9.0', prefix: 24 } });
  const i6 = vdeAddresses(c6);
  t.same(i6.ipv6, { ip: 'fd00::100', prefix: 64, gateway: 'fd00::2' });
  t.same(i6.dns, ['10.0.9.3', 'fd00::3']);
  t.equal(slirpUrl(c6, i6), "slirp:///v4/v6/addr6='fd00::2/64'/vnameserver6=fd00::3/addr='10.0.9.2/24'/vnameserver=10.0.9.3/dhcp=10.0.9.100/mtu=9000/disable_host_loopback");
});

t.test('vpnkit: as upstream starts it', async (t) => {
  t.same(vpnkitArgs(cfg({ mtu: 1500 }), '/s/vpnkit-ethernet.sock'), ['--ethernet', '/s/vpnkit-ethernet.sock', '--mtu', '1500']);
  t.same(vpnkitArgs(cfg({ mtu: 1500, disableHostLoopback: true }), 'S').slice(-2), ['--host-ip', '0.0.0.0']);
});
