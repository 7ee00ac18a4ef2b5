// --port-driver and -p: the port driver (libs/portfwd, loaded only when one
// is asked for) and the ports published before child_pid is written.
//   builtin (and gvisor-tap-vsock, upstream v3's name, served the same way):
//     our relay; targets reached by sockets made inside the child's network
//     namespace (or the detached one, with --detach-netns).
//   slirp4netns: slirp4netns's own forwarding, through its API socket.
//   implicit: pasta forwards by itself; none: no driver.
import { closeSync } from 'node:fs';
import { RkError, type Logger } from '@rk/cli';
import { ipOnlyDriverProblem, parsePortSpec } from '@rk/api/spec';
import { constants as c, openAt, openNamespaces } from '@rk/native';
import type { StartedNetwork } from '@rk/net';
import type { PortDriver } from '@rk/portfwd';
import type { Args } from './flags.js';

/** Parses every -p (as upstream: a bad one is a flag error, exit 1), and what the port driver cannot do, before anything starts. */
export function checkPublish(a: Args): void {
  for (const s of a.publish) {
    let spec;
    try {
      spec = parsePortSpec(s);
    } catch (e) {
      throw new RkError((e as Error).message, 1);
    }
    const ipOnly = a['port-driver'] === 'slirp4netns' ? ipOnlyDriverProblem(spec, 'slirp4netns') : undefined;
    if (ipOnly) throw new RkError(`-p ${s}: ${ipOnly}`, 1);
  }
}

/** The user namespace of pid and the detached network namespace its mount namespace holds. */
function detachedNamespace(pid: number, netns: string) {
  const ns = openNamespaces(pid, ['user', 'mnt']);
  let netFd: number;
  try {
    netFd = openAt(c.AT_FDCWD, `/proc/${pid}/root${netns}`, c.O_RDONLY);
  } catch (e) {
    for (const fd of [ns.fds.user!, ns.fds.mnt!, ns.pidfd]) closeSync(fd);
    throw new RkError(`cannot open the detached network namespace ${netns} of process ${pid}: ${(e as Error).message}`);
  }
  const fds = [ns.fds.user!, netFd];
  return {
    fds,
    // A socket file target is looked up in the child's mount namespace.
    mntFds: [ns.fds.user!, ns.fds.mnt!, netFd],
    pidfd: ns.pidfd,
    pid,
    close() {
      for (const fd of [...fds, ns.fds.mnt!, ns.pidfd]) closeSync(fd);
    },
  };
}

/** Starts the port driver and publishes -p; undefined for --port-driver=none and implicit. */
export async function startPorts(a: Args, childPid: number, net: StartedNetwork | undefined, log: Logger): Promise<PortDriver | undefined> {
  const name = a['port-driver'];
  if (name === 'none' || name === 'implicit' || !net) return undefined;
  const { createPortDriver } = await import('@rk/portfwd');
  const plog = log.withPrefix(`[rootlesskit:port/${name}]`);
  let driver: PortDriver;
  if (name === 'slirp4netns') {
    const apiSocket = net.info.sockets.slirp4netnsApi;
    if (!apiSocket) throw new RkError('the slirp4netns port driver needs slirp4netns --api-socket: this slirp4netns has none (install slirp4netns 0.3 or later)');
    driver = createPortDriver('slirp4netns', { apiSocket, childIP: net.info.ip, log: plog });
    // A restarted slirp4netns forwards nothing: the ports are added to it again.
    const d = driver;
    net.onRestart?.(() => d.restore?.());
  } else {
    const ns = net.info.netns ? detachedNamespace(childPid, net.info.netns) : undefined;
    driver = createPortDriver('builtin', { ...(ns ? { ns } : { childPid }), sourceIPTransparent: a['source-ip-transparent'], log: plog });
    if (ns) {
      const close = driver.close.bind(driver);
      driver.close = async () => {
        await close();
        ns.close();
      };
    }
    if (name !== 'builtin') {
      const info = driver.info.bind(driver);
      driver.info = () => ({ ...info(), driver: name });
    }
  }
  try {
    for (const s of a.publish) {
      const st = await driver.add(parsePortSpec(s));
      log.debug(`published ${s} as port ${st.id}`);
    }
  } catch (e) {
    await driver.close();
    throw new RkError(`cannot publish a port: ${(e as Error).message}`);
  }
  return driver;
}
