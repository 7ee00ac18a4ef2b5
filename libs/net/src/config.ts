// From flags to a NetConfig: defaults per driver and the refusals and
// warnings upstream rootlesskit gives, shared by rk-net and rootlesskit.
import { RkError } from '@rk/cli';
import { DEFAULT_CIDR, parseCidr } from './addr.js';
import { driverFor } from './drivers/index.js';
import type { NetFlags } from './flags.js';
import type { NetConfig, Tristate } from './types.js';

const NAT_DRIVERS = new Set(['builtin', 'slirp4netns', 'pasta', 'vdeplug_slirp', 'vpnkit', 'gvisor-tap-vsock']);
const IPV6_DRIVERS = new Set(['builtin', 'slirp4netns', 'pasta', 'vdeplug_slirp', 'gvisor-tap-vsock']);
const CIDR_DRIVERS = new Set(['builtin', 'slirp4netns', 'pasta', 'vdeplug_slirp', 'gvisor-tap-vsock']);

export function resolveNetConfig(f: NetFlags, portDriver: string, warn: (msg: string) => void): NetConfig {
  const net = f.net;
  if (!Number.isInteger(f.mtu) || f.mtu < 0 || f.mtu > 65521 || (f.mtu > 0 && f.mtu < 68)) {
    throw new RkError(`--mtu must be 0 (the driver's default) or an integer from 68 to 65521, got ${f.mtu}`);
  }
  if (f.ifname !== undefined && (f.ifname === '' || f.ifname.includes('/') || f.ifname.length > 15 || /\s/.test(f.ifname))) {
    throw new RkError(`invalid --ifname ${JSON.stringify(f.ifname)}: 1 to 15 characters, no "/" or spaces (e.g. tap0)`);
  }
  if (net === 'host' || net === 'none') {
    if (f.cidr !== undefined) throw new RkError(`custom cidr is not supported for --net=${net} (drop --cidr)`);
    if (f.ifname !== undefined) throw new RkError(`ifname cannot be specified for --net=${net} (drop --ifname)`);
    if (f.mtu !== 0) warn(`unsupported mtu for --net=${net}: ${f.mtu}`);
    if (net === 'host' && f['detach-netns']) throw new RkError('--detach-netns requires a non-host network (e.g. --net=slirp4netns)');
  } else if (f.cidr !== undefined && !CIDR_DRIVERS.has(net)) {
    throw new RkError(`custom cidr is not supported for --net=${net} (drop --cidr)`);
  }
  if (f.ipv6 && !IPV6_DRIVERS.has(net)) warn(`--ipv6 is discarded for --net=${net}`);
  if (net === 'lxc-user-nic' && !f['disable-host-loopback']) warn('--disable-host-loopback is implicitly set for lxc-user-nic');
  else if (!f['disable-host-loopback'] && NAT_DRIVERS.has(net)) {
    warn('specifying --disable-host-loopback is highly recommended to prohibit connecting to 127.0.0.1:* on the host namespace (requires builtin, pasta, slirp4netns, or VPNKit)');
  }
  if (net === 'pasta' && portDriver !== 'none' && portDriver !== 'implicit') {
    throw new RkError(`network "pasta" requires port driver "none" or "implicit" (got --port-driver=${portDriver})`);
  }
  if (net === 'none' && portDriver !== 'none' && portDriver !== 'builtin') {
    throw new RkError(`network "none" requires either port driver "none" or "builtin" (got --port-driver=${portDriver})`);
  }
  const tri = (name: string, v: string): Tristate => {
    if (v === 'auto' || v === 'true' || v === 'false') return v;
    throw new RkError(`unsupported ${name} mode: ${JSON.stringify(v)} (auto, true or false)`);
  };
  const sandbox = tri('slirp4netns-sandbox', f['slirp4netns-sandbox']);
  if (net === 'slirp4netns' && sandbox === 'true' && f['detach-netns']) {
    throw new RkError('--slirp4netns-sandbox conflicts with --detach-netns (use --slirp4netns-sandbox=auto)');
  }
  const driver = net === 'host' ? undefined : driverFor(net);
  const cidr = f.cidr !== undefined ? parseCidr(f.cidr) : DEFAULT_CIDR;
  return {
    driver: net,
    mtu: f.mtu || driver?.defaultMtu || 0,
    cidr,
    ifname: f.ifname ?? driver?.defaultIfname ?? '',
    disableHostLoopback: f['disable-host-loopback'] || net === 'lxc-user-nic',
    ipv6: f.ipv6 && IPV6_DRIVERS.has(net),
    detachNetns: f['detach-netns'],
    portDriver,
    slirp4netns: { binary: f['slirp4netns-binary'], sandbox, seccomp: tri('slirp4netns-seccomp', f['slirp4netns-seccomp']) },
    pastaBinary: f['pasta-binary'],
    vpnkitBinary: f['vpnkit-binary'],
    lxcUserNic: { binary: f['lxc-user-nic-binary'], bridge: f['lxc-user-nic-bridge'] },
    vdePlugBinary: f['vde-plug-binary'],
    dnsUpstream: process.env.RK_TEST_DNS_UPSTREAM || undefined,
  };
}
