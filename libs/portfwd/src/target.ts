// Where a forwarded port connects inside the namespace, chosen as upstream's
// builtin driver does: the spec's child IP; without one, 127.0.0.1, unless
// the spec names a parent IP that is neither 0.0.0.0 nor the host's own
// first IPv4 address (then that same IP, reached inside the namespace).
import { networkInterfaces } from 'node:os';
import type { PortSpec } from '@rk/api';

/** The host's first non-loopback IPv4 address (upstream's "host gateway IP"), or ''. */
export function hostGatewayIP(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family === 'IPv4' && !a.internal) return a.address;
    }
  }
  return '';
}

export function targetIP(spec: PortSpec, gatewayIP: string = hostGatewayIP()): string {
  if (spec.childIP) return spec.childIP;
  const parent = spec.parentIP ?? '';
  if (parent !== '' && parent !== gatewayIP && parent !== '0.0.0.0') return parent;
  return '127.0.0.1';
}
