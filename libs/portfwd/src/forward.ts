// A socat-style forward (socat.ts) added to the relay: the listening
// endpoint on this host, the target on the host or inside a namespace
// (a socket file path then resolved in its mount namespace), with the
// stream limits and the PROXY protocol; one-shot unless fork.
import { execFileSync } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { RkError, type Logger } from '@rk/cli';
import type { RelayPortSpec } from '@rk/native';
import { unprivilegedPortStart } from './errors.js';
import type { TargetNamespace } from './namespace.js';
import { labelRelayPort, onRelayPortDone, sharedRelay, type RelayConfig } from './relay.js';
import { socketFileProblem } from './socket-file.js';
import type { SocatEndpoint, SocatForward } from './socat.js';

export interface ForwardOptions {
  ns?: TargetNamespace;
  /** Streams: close a connection idle this long (0: never). */
  idleMs?: number;
  /** The PROXY protocol header by default (the address's proxy-protocol= wins). */
  proxy?: 0 | 1 | 2;
  udpIdleMs?: number;
  relay?: RelayConfig;
  log?: Logger;
}

export interface ForwardHandle {
  relayId: number;
  /** One-shot (no fork): settles when the one connection ended; code set when its target refused. */
  done?: Promise<{ code?: string; message?: string }>;
  close(): void;
}

/** A uid or gid from a number or a name (getent: /etc/passwd, /etc/group, NSS). */
function idOf(db: 'passwd' | 'group', v: string, line: string): number {
  if (/^\d+$/.test(v)) return Number(v);
  try {
    const out = execFileSync('getent', [db, v], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return Number(out.split(':')[2]);
  } catch {
    throw new RkError(`${line}: no ${db === 'passwd' ? 'user' : 'group'} named ${JSON.stringify(v)}`, 2);
  }
}

async function ipTarget(e: Extract<SocatEndpoint, { kind: 'tcp' | 'udp' }>, line: string): Promise<{ ip: string; port: number }> {
  let ip = e.host;
  if (isIP(ip) === 0) {
    try {
      ip = (await lookup(e.host, e.family ? { family: e.family } : {})).address;
    } catch {
      throw new RkError(`${line}: cannot resolve ${JSON.stringify(e.host)}: give an IP address`, 1);
    }
  }
  if ((e.family === 4 && isIP(ip) !== 4) || (e.family === 6 && isIP(ip) !== 6)) throw new RkError(`${line}: ${ip} is not an IPv${e.family} address`, 2);
  return { ip, port: e.port };
}

const endpointText = (e: SocatEndpoint) => (e.kind === 'unix' ? e.path : e.kind === 'abstract' ? `@${e.name}` : `${e.host.includes(':') ? `[${e.host}]` : e.host || '*'}:${e.port}/${e.kind}`);

/** Opens the listener of f and starts forwarding; throws RkError (exit 1: cannot, 2: bad input). */
export async function addSocatForward(f: SocatForward, o: ForwardOptions = {}): Promise<ForwardHandle> {
  const [l1, l2] = f.lines;
  const { listen, target, options: opt } = f;
  const spec: Partial<RelayPortSpec> & { listen: RelayPortSpec['listen'] } = { listen: [] };
  if (listen.kind === 'unix') {
    const problem = socketFileProblem(listen.path, opt.unlinkEarly);
    if (problem) throw new RkError(`${l1}: ${problem}`, 1);
    spec.listen.push({
      path: listen.path,
      ...(opt.mode !== undefined ? { mode: opt.mode } : {}),
      ...(opt.user !== undefined ? { uid: idOf('passwd', opt.user, l1) } : {}),
      ...(opt.group !== undefined ? { gid: idOf('group', opt.group, l1) } : {}),
      ...(opt.unlinkEarly ? { unlinkEarly: true } : {}),
    });
  } else if (listen.kind === 'abstract') {
    spec.listen.push({ abstract: listen.name });
  } else {
    const host = listen.host;
    if (host !== '') spec.listen.push({ ip: host, port: listen.port, v6only: listen.family === 6 });
    else if (listen.family === 4) spec.listen.push({ ip: '0.0.0.0', port: listen.port });
    else spec.listen.push({ ip: '::', port: listen.port, v6only: listen.family === 6 });
  }
  let tgt: RelayPortSpec['target'];
  if (target.kind === 'unix') {
    if (Buffer.byteLength(target.path) > 107) throw new RkError(`${l2}: a socket path must fit sun_path (107 bytes): use a shorter path`, 2);
    tgt = { path: target.path };
  } else if (target.kind === 'abstract') tgt = { abstract: target.name };
  else tgt = await ipTarget(target, l2);
  const relay = sharedRelay(o.log, o.relay);
  const stream = listen.kind !== 'udp';
  const pp = opt.proxyProtocol;
  const proxy = pp === 'v1' ? 1 : pp === 'v2' ? 2 : pp === 'none' ? 0 : (o.proxy ?? 0);
  const full: RelayPortSpec = {
    proto: stream ? 'tcp' : 'udp',
    listen: spec.listen,
    target: tgt,
    ...(o.ns ? { nsFds: target.kind === 'unix' ? o.ns.mntFds : o.ns.fds } : {}),
    ...(stream && opt.maxChildren ? { maxConns: opt.maxChildren } : {}),
    ...(stream && o.idleMs ? { idleMs: o.idleMs } : {}),
    ...(stream && proxy ? { proxy } : {}),
    ...(!opt.fork ? { oneShot: true } : {}),
    ...(opt.ranges.length ? { ranges: opt.ranges } : {}),
    ...(!stream && o.udpIdleMs ? { udpIdleMs: o.udpIdleMs } : {}),
  };
  // A wildcard TCP listener falls back to IPv4 alone on a host without IPv6.
  let result;
  try {
    result = relay.addPort(full);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const first = full.listen[0] as { ip?: string };
    if (listen.kind !== 'unix' && listen.kind !== 'abstract' && listen.family === 0 && first.ip === '::' && (code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL')) {
      result = relay.addPort({ ...full, listen: [{ ip: '0.0.0.0', port: (listen as { port: number }).port }] });
    } else if (listen.kind === 'unix' || listen.kind === 'abstract') {
      if (code === 'EPERM' && (opt.user !== undefined || opt.group !== undefined)) {
        throw new RkError(`${l1}: cannot give the socket file to ${opt.user !== undefined ? `user ${opt.user}` : ''}${opt.user !== undefined && opt.group !== undefined ? ' and ' : ''}${opt.group !== undefined ? `group ${opt.group}` : ''} (EPERM): only root may give a file away, and a group must be one of yours; run rk-portfwd as that user instead`, 1);
      }
      const why = code === 'EADDRINUSE' ? (listen.kind === 'unix' ? 'something was created at the path meanwhile (never followed nor replaced)' : 'the name is taken') : (e as Error).message;
      throw new RkError(`${l1}: cannot listen: ${why}`, 1);
    } else {
      const port = (listen as { port: number }).port;
      const start = unprivilegedPortStart();
      if ((code === 'EACCES' || code === 'EPERM') && start !== undefined && port < start) {
        throw new RkError(`${l1}: cannot listen on privileged port ${port} (net.ipv4.ip_unprivileged_port_start is ${start}): sudo sysctl -w net.ipv4.ip_unprivileged_port_start=${port} (or choose a port >= ${start})`, 1);
      }
      if (code === 'EADDRINUSE') throw new RkError(`${l1}: port ${port} is already in use: stop what listens there or choose another port`, 1);
      throw new RkError(`${l1}: cannot listen: ${(e as Error).message}`, 1);
    }
  }
  labelRelayPort(result.id, `${l1} -> ${l2}`);
  o.log?.debug(`${endpointText(listen)} -> ${endpointText(target)}${o.ns ? ' inside the namespace' : ''}${opt.fork ? '' : ' (one connection: no fork)'}`);
  const id = result.id;
  const handle: ForwardHandle = {
    relayId: id,
    close() {
      relay.removePort(id);
      labelRelayPort(id, undefined);
    },
  };
  if (!opt.fork) handle.done = new Promise((resolve) => onRelayPortDone(id, (e) => resolve({ ...(e.code ? { code: e.code } : {}), ...(e.message ? { message: e.message } : {}) })));
  return handle;
}
