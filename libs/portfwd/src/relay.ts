// The relay engine of a process (native threads; see @rk/native Relay), made
// on first use and shared by every driver in it; its per-connection events
// become debug lines while debug is on.
import { availableParallelism } from 'node:os';
import type { Logger } from '@rk/cli';
import { Relay, type RelayEvent } from '@rk/native';

export interface RelayConfig {
  /** Worker threads (default: the number of CPUs, at most 4). */
  threads?: number;
  /** Pipe size per direction of a busy connection (default 1 MiB). */
  pipeSize?: number;
}

let shared: Relay | undefined;
let loggers = new Set<Logger>();
/** What debug lines call a relay port (e.g. "port 3 (8080:80/tcp)"), by relay port id. */
const labels = new Map<number, string>();
/** Who waits for a one-shot port's end, by relay port id. */
const doneWaiters = new Map<number, (e: RelayEvent) => void>();

/** Calls cb once when one-shot relay port `id`'s connection ends (e.code set: the target refused). */
export function onRelayPortDone(id: number, cb: (e: RelayEvent) => void): void {
  doneWaiters.set(id, cb);
}

/** Names relay port `id` in debug lines (undefined: forget it). */
export function labelRelayPort(id: number, label: string | undefined): void {
  if (label === undefined) labels.delete(id);
  else labels.set(id, label);
}

function describe(e: RelayEvent): string {
  const who = e.client ? `${e.client} -> ${e.target ?? '?'}` : (e.target ?? '');
  const err = e.code ? `: ${e.code} (${e.message})` : '';
  const port = labels.get(e.port) ?? `relay port ${e.port}`;
  switch (e.kind) {
    case 'open':
      return `${port}: connection ${who}`;
    case 'close':
      return `${port}: closed ${who} (${e.up} bytes up, ${e.down} down)`;
    case 'reset':
      return `${port}: reset ${who}${e.what ? ` by the ${e.what}` : ''}${err} (${e.up ?? 0} bytes up, ${e.down ?? 0} down)`;
    case 'refused':
      return e.what === 'range' ? `${port}: ${e.client} is outside range=: closed` : `${port}: cannot connect ${who}${err}`;
    case 'flow':
      return `${port}: udp flow ${who}`;
    case 'limit':
      return `${port}: ${e.what}`;
    case 'flowEnd':
      return `${port}: udp flow ended ${who} (${e.up} datagrams up, ${e.down} down)`;
    default:
      return `${port}: ${e.what ?? 'error'} ${who}${err}`;
  }
}

/** The process's relay (created with cfg on first call); log gets its events while debug is on. */
export function sharedRelay(log?: Logger, cfg: RelayConfig = {}): Relay {
  if (!shared) {
    const threads = cfg.threads ?? Math.max(1, Math.min(4, availableParallelism()));
    shared = new Relay({ threads, pipeSize: cfg.pipeSize ?? 1 << 20 }, (e) => {
      if (e.kind === 'done') {
        const cb = doneWaiters.get(e.port);
        doneWaiters.delete(e.port);
        cb?.(e);
        return;
      }
      const line = describe(e);
      for (const l of loggers) {
        if (e.kind === 'limit') l.warn(line);
        else l.debug(line);
      }
    });
  }
  if (log) {
    loggers.add(log);
    if (log.debugEnabled) shared.setDebug(true);
  }
  return shared;
}

/** Stops the process's relay (every port of every driver). */
export function closeSharedRelay(): void {
  shared?.close();
  shared = undefined;
  loggers = new Set();
}
