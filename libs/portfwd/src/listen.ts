// Where a port spec listens on the host, with the semantics upstream gets
// from Go's net.Listen: plain "tcp"/"udp" on a wildcard address is one
// dual-stack socket (IPv4 and IPv6), "tcp4"/"udp4" strictly IPv4,
// "tcp6"/"udp6" strictly IPv6 (0.0.0.0 standing for "::" there).
import { isIP } from 'node:net';
import type { PortSpec } from '@rk/api';

export interface ListenAddr {
  ip: string;
  port: number;
  v6only: boolean;
}

const WILDCARDS = new Set(['', '0.0.0.0', '::']);

/** 4, 6, or 0 (either) for a proto. */
export function protoFamily(proto: string): 0 | 4 | 6 {
  return proto.endsWith('4') ? 4 : proto.endsWith('6') ? 6 : 0;
}

/** "tcp" or "udp" for any of the tcp/udp protos. */
export function baseProto(proto: string): 'tcp' | 'udp' {
  return proto.startsWith('udp') ? 'udp' : 'tcp';
}

/**
 * The sockets to open for a spec, best first. For a wildcard on plain
 * tcp/udp the list has a fallback: IPv4 alone, for a host without IPv6.
 */
export function listenPlan(spec: PortSpec): ListenAddr[][] {
  const ip = spec.parentIP ?? '';
  const port = spec.parentPort;
  const fam = protoFamily(spec.proto);
  if (WILDCARDS.has(ip)) {
    if (fam === 4) return [[{ ip: '0.0.0.0', port, v6only: false }]];
    if (fam === 6) return [[{ ip: '::', port, v6only: true }]];
    return [[{ ip: '::', port, v6only: false }], [{ ip: '0.0.0.0', port, v6only: false }]];
  }
  return [[{ ip, port, v6only: fam === 6 || (fam === 0 && isIP(ip) === 6) }]];
}
