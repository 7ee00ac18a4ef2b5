// Interface set-up inside the namespace, natively (netlink from a helper that
// entered the namespaces; no `ip` process): loopback, the driver's interface
// with its MTU, address and default route.
import { RkError } from '@rk/cli';
import { nsRun, type NsOp } from '@rk/native';
import { AF_INET, AF_INET6, ipBytes } from './addr.js';
import { nsFds } from './target.js';
import type { NetInfo, NetTarget } from './types.js';

export function configureInterface(t: NetTarget, info: NetInfo): void {
  const ops: NsOp[] = [
    { op: 'link', name: 'lo', up: true },
    { op: 'link', name: info.ifname, mtu: info.mtu, up: true },
    { op: 'addr', name: info.ifname, family: AF_INET, addr: ipBytes(info.ip), prefix: info.prefix },
    { op: 'route', family: AF_INET, gw: ipBytes(info.gateway), name: info.ifname },
  ];
  if (info.ipv6?.ip) {
    ops.push({ op: 'addr', name: info.ifname, family: AF_INET6, addr: ipBytes(info.ipv6.ip), prefix: info.ipv6.prefix });
    ops.push({ op: 'route', family: AF_INET6, gw: ipBytes(info.ipv6.gateway), name: info.ifname });
  }
  runOps(t, ops, `configure ${info.ifname}`);
}

export function configureLoopback(t: NetTarget): void {
  runOps(t, [{ op: 'link', name: 'lo', up: true }], 'bring up the loopback interface');
}

/** Runs ops in the target's namespaces; an error names the step. */
export function runOps(t: NetTarget, ops: NsOp[], what: string): number[] {
  try {
    return nsRun(nsFds(t), ops);
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { op?: number };
    const step = err.op !== undefined && err.op >= 0 ? describe(ops[err.op]!) : 'enter the namespaces';
    throw new RkError(`cannot ${what}: ${step}: ${err.code ?? err.message}${hint(err.code, ops[err.op ?? -1])}`);
  }
}

function describe(op: NsOp): string {
  switch (op.op) {
    case 'tap': return `create tap ${op.name}`;
    case 'link': return `set ${op.name} up${op.mtu ? ` with mtu ${op.mtu}` : ''}`;
    case 'addr': return `add address to ${op.name}`;
    case 'route': return 'add route';
    case 'rule': return 'add routing rule';
    case 'write': return `write ${op.path}`;
    case 'open': return `open ${op.path}`;
    case 'bind': return `bind ${op.path} on ${op.target}`;
    default: return op.op;
  }
}

function hint(code: string | undefined, op: NsOp | undefined): string {
  if (op?.op === 'tap' && (code === 'EACCES' || code === 'EPERM')) return ' (/dev/net/tun must be usable by users: sudo chmod 0666 /dev/net/tun)';
  if (op?.op === 'tap' && code === 'ENOENT') return ' (no /dev/net/tun: sudo modprobe tun, then sudo chmod 0666 /dev/net/tun)';
  return '';
}
