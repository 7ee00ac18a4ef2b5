// The builtin port driver: the host side listens, the native relay connects
// each client to the target inside the namespace (sockets made there by a
// short-lived helper; no process of ours stays inside) or, without a
// namespace, on the host (rk-portfwd host to host). Upstream v3 semantics
// for protos, listening, target choice, ids and conflicts; the client's
// address kept for TCP and UDP (see source-ip.ts).
import { isIP } from 'node:net';
import type { Logger } from '@rk/cli';
import type { RelayPortSpec } from '@rk/native';
import { ApiError, formatPortSpec, validatePortSpec, type PortDriverInfo, type PortSpec, type PortStatus } from '@rk/api';
import { listenError } from './errors.js';
import { baseProto, listenPlan, type ListenAddr } from './listen.js';
import type { TargetNamespace } from './namespace.js';
import { labelRelayPort, sharedRelay, type RelayConfig } from './relay.js';
import { socketFileProblem, socketListenFix } from './socket-file.js';
import { SourceIPRouting } from './source-ip.js';
import { hostGatewayIP, targetIP } from './target.js';
import type { PortDriver } from './types.js';

export const BUILTIN_PROTOS: readonly string[] = ['tcp', 'tcp4', 'tcp6', 'udp', 'udp4', 'udp6', 'unix'];

export interface BuiltinOptions {
  /** The namespace targets live in; absent: targets are on the host. */
  ns?: TargetNamespace;
  /** Close ns when the driver closes. */
  ownsNs?: boolean;
  /** Keep the client's address (default true; needs ns). */
  sourceIPTransparent?: boolean;
  /** UDP flows end after this long without a datagram (default 90 s, as upstream). */
  udpIdleMs?: number;
  /** TCP: close a connection after this long without a byte either way (default: never). */
  idleMs?: number;
  /** TCP: at most this many connections per port at once (more are reset, one log line). */
  maxConns?: number;
  /** Streams: write the PROXY protocol header (version 1 or 2) to the target first, unless a spec says otherwise (proxyProtocol). */
  proxy?: 0 | 1 | 2;
  relay?: RelayConfig;
  log?: Logger;
}

interface Entry {
  status: PortStatus;
  relayId: number;
  rule?: { proto: 'tcp' | 'udp'; port: number; family: 4 | 6 };
}

const RETRY_ON = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL']);
const fmt = (ip: string) => (ip.includes(':') ? `[${ip}]` : ip);
const listenDesc = (l: ListenAddr) => `${fmt(l.ip)}:${l.port}${l.ip.includes(':') && !l.v6only ? ' (IPv4 and IPv6)' : ''}`;

export class BuiltinDriver implements PortDriver {
  private ports = new Map<number, Entry>();
  private nextId = 1;
  private routing?: SourceIPRouting;
  private warned = false;
  private closed = false;
  private readonly gateway = hostGatewayIP();

  constructor(private readonly opts: BuiltinOptions = {}) {
    if (opts.ns && opts.sourceIPTransparent !== false) this.routing = new SourceIPRouting(opts.ns.fds);
  }

  info(): PortDriverInfo {
    return { driver: 'builtin', protos: [...BUILTIN_PROTOS] };
  }

  list(): PortStatus[] {
    return [...this.ports.values()].map((e) => e.status);
  }

  async add(spec: PortSpec): Promise<PortStatus> {
    return this.addNow(spec);
  }

  /** add(), synchronously (the relay opens its listeners in this call). */
  addNow(spec: PortSpec): PortStatus {
    if (this.closed) throw new ApiError(400, 'the port driver is closed');
    validatePortSpec(spec, this.list(), BUILTIN_PROTOS);
    if (spec.proto === 'unix') return this.addUnix(spec);
    const proto = baseProto(spec.proto);
    const target = targetIP(spec, this.gateway);
    const family = (isIP(target) === 6 ? 6 : 4) as 4 | 6;
    let rule: Entry['rule'];
    if (this.routing) {
      try {
        this.routing.acquire(proto, spec.childPort, family);
        rule = { proto, port: spec.childPort, family };
      } catch (e) {
        this.warnOnce(`cannot keep client addresses (${(e as Error).message}): the server inside sees the forwarder's address`);
      }
    }
    const relay = sharedRelay(this.opts.log, this.opts.relay);
    let result;
    let failure: unknown;
    let used: ListenAddr[] = [];
    for (const listen of listenPlan(spec)) {
      used = listen;
      try {
        result = relay.addPort({
          ...this.streamOptions(spec, proto),
          listen,
          target: { ip: target, port: spec.childPort },
          ...(this.opts.ns ? { nsFds: this.opts.ns.fds } : {}),
          transparent: rule !== undefined,
          ...(this.opts.udpIdleMs ? { udpIdleMs: this.opts.udpIdleMs } : {}),
        });
        break;
      } catch (e) {
        failure = e;
        if (!RETRY_ON.has((e as NodeJS.ErrnoException).code ?? '')) break;
      }
    }
    if (!result) {
      if (rule) this.routing!.release(rule.proto, rule.port, rule.family);
      throw listenError(failure, spec);
    }
    if (rule && !result.transparent) {
      this.routing!.release(rule.proto, rule.port, rule.family);
      rule = undefined;
      this.warnOnce('cannot keep client addresses (IP_TRANSPARENT refused in the namespace): the server inside sees the forwarder\'s address');
    }
    return this.record(spec, result.id, `listens on ${used.map(listenDesc).join(', ')}, connects to ${fmt(target)}:${spec.childPort}`, rule);
  }

  /** proto unix: a socket file on the host and/or one in the namespace's mount namespace (no client addresses to keep). */
  private addUnix(spec: PortSpec): PortStatus {
    let plans: RelayPortSpec['listen'][];
    if (spec.parentPath) {
      const problem = socketFileProblem(spec.parentPath, false, 'remove it (or choose another path) and add the port again');
      if (problem) throw new ApiError(400, `cannot forward ${formatPortSpec(spec)}: ${problem}`);
      plans = [[{ path: spec.parentPath }]];
    } else {
      plans = listenPlan(spec);
    }
    const target: RelayPortSpec['target'] = spec.childPath ? { path: spec.childPath } : { ip: targetIP(spec, this.gateway), port: spec.childPort };
    const ns = this.opts.ns;
    const relay = sharedRelay(this.opts.log, this.opts.relay);
    let result;
    let failure: unknown;
    let used: RelayPortSpec['listen'] = [];
    for (const listen of plans) {
      used = listen;
      try {
        result = relay.addPort({
          ...this.streamOptions(spec, 'tcp'),
          listen,
          target,
          ...(ns ? { nsFds: spec.childPath ? ns.mntFds : ns.fds } : {}),
        });
        break;
      } catch (e) {
        failure = e;
        if (!RETRY_ON.has((e as NodeJS.ErrnoException).code ?? '')) break;
      }
    }
    if (!result) {
      const code = (failure as NodeJS.ErrnoException).code;
      if (spec.parentPath && code === 'EADDRINUSE') throw new ApiError(400, `cannot forward ${formatPortSpec(spec)}: something was made at ${spec.parentPath} meanwhile (never followed nor replaced): remove it and add the port again`);
      if (spec.parentPath) {
        const fix = socketListenFix(spec.parentPath, code);
        throw new ApiError(400, `cannot forward ${formatPortSpec(spec)}: cannot listen on ${spec.parentPath} (${code ?? (failure as Error).message})${fix ? `: ${fix}` : ''}`);
      }
      throw listenError(failure, spec);
    }
    const from = spec.parentPath ?? (used as ListenAddr[]).map(listenDesc).join(', ');
    const to = spec.childPath ?? `${fmt((target as { ip: string }).ip)}:${spec.childPort}`;
    return this.record(spec, result.id, `listens on ${from}, connects to ${to}`);
  }

  /** The relay options every stream port shares: limits and the PROXY protocol (the spec's own, else the driver's). */
  private streamOptions(spec: PortSpec, proto: 'tcp' | 'udp'): Pick<RelayPortSpec, 'proto' | 'idleMs' | 'maxConns' | 'proxy'> {
    if (proto !== 'tcp') return { proto };
    const pp = spec.proxyProtocol;
    const proxy = pp === 'v1' ? 1 : pp === 'v2' ? 2 : pp === 'none' ? 0 : (this.opts.proxy ?? 0);
    return {
      proto,
      ...(this.opts.idleMs ? { idleMs: this.opts.idleMs } : {}),
      ...(this.opts.maxConns ? { maxConns: this.opts.maxConns } : {}),
      ...(proxy ? { proxy } : {}),
    };
  }

  private record(spec: PortSpec, relayId: number, what: string, rule?: Entry['rule']): PortStatus {
    const status: PortStatus = { id: this.nextId++, spec };
    this.ports.set(status.id, { status, relayId, ...(rule ? { rule } : {}) });
    labelRelayPort(relayId, `port ${status.id} (${formatPortSpec(spec)})`);
    const where = this.opts.ns ? `inside the namespace` : 'on the host';
    this.opts.log?.debug(`port ${status.id}: ${formatPortSpec(spec)} ${what} ${where}${rule ? ', client addresses kept' : ''}`);
    return status;
  }

  async remove(id: number): Promise<void> {
    const e = this.ports.get(id);
    if (!e) throw new ApiError(400, `unknown id: ${id}`);
    this.ports.delete(id);
    sharedRelay().removePort(e.relayId);
    labelRelayPort(e.relayId, undefined);
    if (e.rule) this.routing!.release(e.rule.proto, e.rule.port, e.rule.family);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const id of [...this.ports.keys()]) await this.remove(id);
    this.closed = true;
    this.routing?.close();
    if (this.opts.ownsNs) this.opts.ns?.close();
  }

  private warnOnce(msg: string): void {
    if (this.warned) return;
    this.warned = true;
    this.opts.log?.warn(msg);
  }
}
