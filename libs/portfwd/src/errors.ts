// Listening failures as the one-line messages a user can act on.
import { readFileSync } from 'node:fs';
import { ApiError, formatPortSpec, type PortSpec } from '@rk/api';

const SYSCTL = '/proc/sys/net/ipv4/ip_unprivileged_port_start';

/** net.ipv4.ip_unprivileged_port_start, or undefined when unreadable. */
export function unprivilegedPortStart(): number | undefined {
  try {
    const n = Number(readFileSync(SYSCTL, 'utf8').trim());
    return Number.isInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** An ApiError (400, as upstream answers a failed add) naming the cause and the fix. */
export function listenError(err: unknown, spec: PortSpec): ApiError {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  const where = `${formatPortSpec(spec)}`;
  const what = e.message ?? String(err);
  if (e.code === 'EACCES' || e.code === 'EPERM') {
    const start = unprivilegedPortStart();
    if (start !== undefined && spec.parentPort < start) {
      // one line that ends in the command (sysctl -w lasts until reboot: docs/ say how to keep it)
      return new ApiError(
        400,
        `cannot expose privileged port ${spec.parentPort} (net.ipv4.ip_unprivileged_port_start is ${start}): ` +
          `sudo sysctl -w net.ipv4.ip_unprivileged_port_start=${spec.parentPort} (or choose a port >= ${start})`,
      );
    }
  }
  if (e.code === 'EADDRINUSE') {
    return new ApiError(400, `cannot forward ${where}: the host port is already in use (${what}): choose another parent port or stop what listens there`);
  }
  if (e.code === 'EADDRNOTAVAIL') {
    return new ApiError(400, `cannot forward ${where}: ${e.address ?? spec.parentIP} is not an address of this host (${what})`);
  }
  return new ApiError(400, `cannot forward ${where}: ${what}`);
}
