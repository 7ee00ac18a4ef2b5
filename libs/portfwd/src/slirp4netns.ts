// The slirp4netns port driver: forwarding done by slirp4netns itself,
// driven through its API socket (--api-socket): add_hostfwd, remove_hostfwd.
// As upstream: IPv4 only, the ids are slirp4netns's own, the child IP
// defaults to the namespace's address on slirp4netns's network. When
// slirp4netns is restarted (it died), restore() adds the ports again to the
// new one: their ids stay what clients were told (slirp4netns's new ids are
// kept beside them).
import { connect } from 'node:net';
import { isIP } from 'node:net';
import type { Logger } from '@rk/cli';
import { ApiError, formatPortSpec, ipOnlyDriverProblem, validatePortSpec, type PortDriverInfo, type PortSpec, type PortStatus } from '@rk/api';
import type { PortDriver } from './types.js';

export const SLIRP4NETNS_PROTOS: readonly string[] = ['tcp', 'tcp4', 'udp', 'udp4'];

export interface Slirp4netnsOptions {
  /** slirp4netns's --api-socket */
  apiSocket: string;
  /** The namespace's address on slirp4netns's network (default 10.0.2.100). */
  childIP?: string;
  log?: Logger;
  /** Per request (default 10 s). */
  timeoutMs?: number;
}

interface Reply {
  return?: Record<string, unknown>;
  error?: Record<string, unknown>;
}

/** One request on slirp4netns's API socket: a JSON object, then its JSON reply once it closes the connection. */
export function slirpRequest(socket: string, req: unknown, timeoutMs = 10_000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const c = connect(socket);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error(`no answer from slirp4netns on ${socket} within ${timeoutMs} ms`));
    }, timeoutMs);
    c.on('connect', () => c.end(`${JSON.stringify(req)}\n`));
    c.on('data', (d: Buffer) => chunks.push(d));
    c.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(`cannot reach slirp4netns's API socket ${socket} (${e.code ?? e.message}): is slirp4netns running with --api-socket?`));
    });
    c.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(JSON.parse(text) as Reply);
      } catch {
        reject(new Error(`slirp4netns answered with something that is not JSON: ${JSON.stringify(text.slice(0, 200))}`));
      }
    });
  });
}

function describeError(err: Record<string, unknown>): string {
  return typeof err.desc === 'string' ? err.desc : JSON.stringify(err);
}

export class Slirp4netnsDriver implements PortDriver {
  private ports = new Map<number, PortStatus>();
  /** Our id -> the id the running slirp4netns gave the port (the same until slirp4netns is restarted). */
  private slirpIds = new Map<number, number>();
  private lastId = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: Slirp4netnsOptions) {}

  info(): PortDriverInfo {
    return { driver: 'slirp4netns', protos: [...SLIRP4NETNS_PROTOS], disallowLoopbackChildIP: true };
  }

  list(): PortStatus[] {
    return [...this.ports.values()];
  }

  /** Requests run one at a time, as upstream's mutex has them. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => {});
    return next;
  }

  add(spec: PortSpec): Promise<PortStatus> {
    return this.serial(async () => {
      const ipOnly = ipOnlyDriverProblem(spec, 'slirp4netns');
      if (ipOnly) throw new ApiError(400, ipOnly);
      if (spec.proto.endsWith('6')) throw new ApiError(400, `unsupported protocol ${JSON.stringify(spec.proto)}: slirp4netns forwards IPv4 only (use --port-driver=builtin for IPv6)`);
      validatePortSpec(spec, this.ports.values(), SLIRP4NETNS_PROTOS);
      const slirpId = await this.forward(spec);
      // slirp4netns's id, as upstream; after a restart its ids start again at 1, ours go on.
      const id = Math.max(slirpId, this.lastId + 1);
      this.lastId = id;
      const st: PortStatus = { id, spec };
      this.ports.set(id, st);
      this.slirpIds.set(id, slirpId);
      return st;
    });
  }

  /** Asks slirp4netns to forward spec: its id for the port. */
  private async forward(spec: PortSpec): Promise<number> {
    const guest = spec.childIP ?? this.opts.childIP ?? '10.0.2.100';
    if (isIP(guest) !== 4) throw new ApiError(400, `unsupported child IP ${guest}: slirp4netns forwards to IPv4 addresses only`);
    const args: Record<string, unknown> = {
      proto: spec.proto.replace(/4$/, ''),
      host_port: spec.parentPort,
      guest_addr: guest,
      guest_port: spec.childPort,
    };
    if (spec.parentIP) args.host_addr = spec.parentIP;
    const rep = await this.call({ execute: 'add_hostfwd', arguments: args });
    if (rep.error) throw new ApiError(400, `slirp4netns refused the port: ${describeError(rep.error)}`);
    const id = rep.return?.id;
    if (typeof id !== 'number') throw new ApiError(500, `unexpected answer from slirp4netns: ${JSON.stringify(rep)}`);
    this.opts.log?.debug(`${formatPortSpec(spec)} forwarded by slirp4netns (its id ${id}) to ${guest}:${spec.childPort}`);
    return id;
  }

  /**
   * slirp4netns was restarted: every port is added to the new one (same ids
   * for clients). A port it refuses now is dropped, with a warning.
   */
  restore(): Promise<void> {
    return this.serial(async () => {
      for (const [id, st] of this.ports) {
        try {
          this.slirpIds.set(id, await this.forward(st.spec));
        } catch (e) {
          this.ports.delete(id);
          this.slirpIds.delete(id);
          this.opts.log?.warn(`port ${id} (${formatPortSpec(st.spec)}) could not be forwarded again after slirp4netns restarted: ${(e as Error).message}`);
        }
      }
      this.opts.log?.debug(`${this.ports.size} port(s) forwarded again by the restarted slirp4netns`);
    });
  }

  remove(id: number): Promise<void> {
    return this.serial(async () => {
      if (!this.ports.has(id)) throw new ApiError(400, `unknown id: ${id}`);
      const rep = await this.call({ execute: 'remove_hostfwd', arguments: { id: this.slirpIds.get(id) } });
      if (rep.error) throw new ApiError(400, `slirp4netns refused to remove port ${id}: ${describeError(rep.error)}`);
      this.ports.delete(id);
      this.slirpIds.delete(id);
    });
  }

  async close(): Promise<void> {
    for (const id of [...this.ports.keys()]) {
      try {
        await this.remove(id);
      } catch {
        // slirp4netns may be gone with the namespace
      }
    }
  }

  private async call(req: unknown): Promise<Reply> {
    try {
      return await slirpRequest(this.opts.apiSocket, req, this.opts.timeoutMs);
    } catch (e) {
      throw new ApiError(500, (e as Error).message);
    }
  }
}
