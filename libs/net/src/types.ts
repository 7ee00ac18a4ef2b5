// What a network driver is given and what it gives back.
import type { Logger } from '@rk/cli';
import type { Cidr } from './addr.js';

export type Tristate = 'auto' | 'true' | 'false';

/** Everything the flags decide, defaults applied (see config.ts). */
export interface NetConfig {
  /** The driver's canonical name (what --net named). */
  driver: string;
  mtu: number;
  cidr: Cidr;
  ifname: string;
  disableHostLoopback: boolean;
  ipv6: boolean;
  detachNetns: boolean;
  /** The port driver that will run beside (pasta's "implicit" forwarding needs to know). */
  portDriver: string;
  slirp4netns: { binary: string; sandbox: Tristate; seccomp: Tristate };
  pastaBinary: string;
  vpnkitBinary: string;
  lxcUserNic: { binary: string; bridge: string };
  vdePlugBinary: string;
  /** Test-only: the embedded engine forwards DNS to this IP:PORT instead of the host's resolver. */
  dnsUpstream?: string;
}

/** The namespaces a driver acts on (fds owned by the caller, closed after start). */
export interface NetTarget {
  /** A process in the namespaces (the child); helper binaries are given its PID. */
  pid: number;
  /** fd of its user namespace, or -1 when it is ours (e.g. root on a netns of its own). */
  userFd: number;
  /** fd of the network namespace. */
  netFd: number;
  /** Paths of the same namespaces for helper binaries (e.g. /proc/PID/ns/net, or a detached netns). */
  netnsPath: string;
  usernsPath: string;
  /** True when the netns is a detached one (not the one PID runs in). */
  detached: boolean;
  /** Where the driver may put its sockets (the state dir), if any. */
  stateDir?: string;
  /** The same state dir by fd (e.g. to remove a dead helper's stale socket before it is restarted). */
  files?: StateFiles;
}

/** Where a driver writes its files: a state dir, reached by its fd. */
export interface StateFiles {
  /** The dir's path (for paths handed to helper binaries and to the child's mount plan). */
  dir: string;
  /** Creates NAME afresh (O_EXCL|O_NOFOLLOW relative to the dir), replacing a stale one. */
  write(name: string, text: string, mode?: number): void;
  /** Removes NAME if it is there. */
  remove(name: string): void;
}

export interface NetInfo {
  driver: string;
  ifname: string;
  mtu: number;
  ip: string;
  prefix: number;
  gateway: string;
  dns: string[];
  /** True when the gateway reaches the host's 127.0.0.1 (not --disable-host-loopback). */
  hostLoopback: boolean;
  ipv6?: { ip?: string; prefix: number; gateway: string };
  /** The driver's own sockets (e.g. slirp4netns's API socket), for rk-portfwd and scripts. */
  sockets: Record<string, string>;
  /** PID of the helper process, when the driver runs one. */
  helperPid?: number;
  /** The detached network namespace, with --detach-netns. */
  netns?: string;
}

/** A driver that is up. */
export interface RunningNet {
  /** What it set up; info.helperPid follows the helper across restarts. */
  info: NetInfo;
  /**
   * Settles when the driver gave up (the reason): its helper died and was
   * not restarted, or died too often (restarts.ts), or what it set up went
   * away. A driver with onRestart (supervise.ts) has logged why as an error
   * line; for one without, the caller logs it (netGaveUp). CMD keeps running,
   * without network (as upstream's CMD does when its slirp4netns dies).
   * After stop() it settles with "stopped".
   */
  ended: Promise<string>;
  /**
   * Calls cb after each restart of the helper, once the new one serves the
   * namespace (what lived in the old one, e.g. ports forwarded through
   * slirp4netns's API, is gone and can be re-added). Callbacks with `last`
   * run after the others (net.json names the new helper only once its ports
   * are forwarded again). Drivers that never restart anything need not have it.
   */
  onRestart?(cb: () => void | Promise<void>, last?: boolean): void;
  /** Stops the driver and waits for it (idempotent). */
  stop(): Promise<void>;
}

export interface NetDriver {
  name: string;
  /** MTU when --mtu is 0. */
  defaultMtu: number;
  defaultIfname: string;
  /** Checks what can be checked before anything starts (binary present, version features). */
  preflight?(cfg: NetConfig, log: Logger): Promise<void>;
  start(target: NetTarget, cfg: NetConfig, log: Logger): Promise<RunningNet>;
}
