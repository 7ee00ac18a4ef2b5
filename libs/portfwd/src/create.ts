// createPortDriver(name, options): the one entry point rootlesskit and
// rk-portfwd use.
import { RkError, type Logger } from '@rk/cli';
import { BuiltinDriver } from './builtin.js';
import { openTargetNamespace, type TargetNamespace } from './namespace.js';
import type { RelayConfig } from './relay.js';
import { Slirp4netnsDriver } from './slirp4netns.js';
import type { PortDriver } from './types.js';

export const PORT_DRIVER_NAMES = ['builtin', 'slirp4netns'] as const;
export type PortDriverName = (typeof PORT_DRIVER_NAMES)[number];

export interface PortDriverOptions {
  /** builtin: the process whose user+net namespaces the targets live in. */
  childPid?: number;
  /** builtin: namespaces already opened (the caller keeps them; takes precedence over childPid). */
  ns?: TargetNamespace;
  /** builtin: targets on the host itself (rk-portfwd host to host); neither childPid nor ns. */
  host?: boolean;
  /** builtin: keep the client's address (default true). */
  sourceIPTransparent?: boolean;
  udpIdleMs?: number;
  /** builtin, TCP: idle timeout, connections per port, PROXY protocol version. */
  idleMs?: number;
  maxConns?: number;
  proxy?: 0 | 1 | 2;
  relay?: RelayConfig;
  /** slirp4netns: its --api-socket. */
  apiSocket?: string;
  /** slirp4netns: the namespace's IP on its network (default 10.0.2.100). */
  childIP?: string;
  log?: Logger;
}

export function createPortDriver(name: string, o: PortDriverOptions): PortDriver {
  if (name === 'builtin') {
    let ns = o.ns;
    let owns = false;
    if (!ns && !o.host) {
      if (o.childPid === undefined) throw new RkError('the builtin port driver needs the namespace\'s process (childPid) or host mode');
      ns = openTargetNamespace(o.childPid);
      owns = true;
    }
    return new BuiltinDriver({
      ...(ns ? { ns } : {}),
      ownsNs: owns,
      ...(o.sourceIPTransparent !== undefined ? { sourceIPTransparent: o.sourceIPTransparent } : {}),
      ...(o.udpIdleMs !== undefined ? { udpIdleMs: o.udpIdleMs } : {}),
      ...(o.idleMs ? { idleMs: o.idleMs } : {}),
      ...(o.maxConns ? { maxConns: o.maxConns } : {}),
      ...(o.proxy ? { proxy: o.proxy } : {}),
      ...(o.relay ? { relay: o.relay } : {}),
      ...(o.log ? { log: o.log } : {}),
    });
  }
  if (name === 'slirp4netns') {
    if (!o.apiSocket) throw new RkError('the slirp4netns port driver needs slirp4netns\'s API socket (slirp4netns --api-socket PATH)');
    return new Slirp4netnsDriver({ apiSocket: o.apiSocket, ...(o.childIP ? { childIP: o.childIP } : {}), ...(o.log ? { log: o.log } : {}) });
  }
  throw new RkError(`unknown port driver ${JSON.stringify(name)}: use one of ${PORT_DRIVER_NAMES.join(', ')}`);
}
