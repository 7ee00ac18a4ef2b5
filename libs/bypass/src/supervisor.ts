// The supervisor side of --bypass: bypass.sock in the state dir, where each
// filter installed inside (rootlesskit's child, rk-bypass) hands its listener
// over; a native thread answers the trapped connect() calls.
import { closeSync } from 'node:fs';
import { RkError, type Logger } from '@rk/cli';
import { bypassSetDebug, bypassStart, bypassStats, bypassStop, nsRun, openNamespaces, type BypassStats } from '@rk/native';

export const BYPASS_SOCK_FILE = 'bypass.sock';
export const BYPASS_JSON_FILE = 'bypass.json';

// Linux ABI numbers (socket(2)).
const AF_NETLINK = 16;
const SOCK_RAW = 3;
const NETLINK_ROUTE = 0;

export interface BypassOptions {
  /** bypass.sock's listening fd (see StateDir.listen). Closed by stop(). */
  listenFd: number;
  /** A process of the namespace (its net ns is the one whose routes decide). */
  pid: number;
  ignore: string[];
  nested: boolean;
  log: Logger;
}

export interface Bypass {
  stats(): BypassStats;
  /** What /v1/info says. */
  info(): { enabled: true } & BypassStats;
  /** Resolves once every filtered process is gone (no listener left). */
  readonly idle: Promise<void>;
  stop(): void;
}

export function startBypass(o: BypassOptions): Bypass {
  let ns;
  try {
    ns = openNamespaces(o.pid, ['user', 'net']);
  } catch (e) {
    closeSync(o.listenFd);
    throw new RkError(`--bypass: cannot open the namespaces of process ${o.pid}: ${(e as Error).message}`);
  }
  const fds = Object.values(ns.fds);
  let h;
  try {
    // setns() into our own user namespace fails: enter it only when it is another.
    const own = openNamespaces(process.pid, ['user']);
    const sameUser = own.inodes.user === ns.inodes.user;
    Object.values(own.fds).forEach((fd) => closeSync(fd));
    closeSync(own.pidfd);
    const [nl] = nsRun(sameUser ? [ns.fds.net!] : [ns.fds.user!, ns.fds.net!], [{ op: 'socket', family: AF_NETLINK, type: SOCK_RAW, proto: NETLINK_ROUTE }]);
    let idleDone!: () => void;
    const idle = new Promise<void>((r) => (idleDone = r));
    try {
      h = bypassStart({ listenFd: o.listenFd, netlinkFd: nl!, netnsFd: ns.fds.net!, ignore: o.ignore, nested: o.nested }, (batch) => {
        for (const e of batch) {
          if (e.kind === 'bypass') o.log.debug(`bypass: ${e.proto} to ${e.dst} from pid ${e.pid} through a host socket${e.code ? ` (${e.code})` : ''}`);
          else if (e.kind === 'limit') o.log.warn(e.what ?? 'bypass: a budget was hit');
          else if (e.kind === 'idle') idleDone();
        }
      });
    } catch (e) {
      closeSync(o.listenFd);
      throw e;
    } finally {
      closeSync(nl!);
    }
    bypassSetDebug(h, o.log.debugEnabled);
    const handle = h;
    let stopped = false;
    return {
      stats: () => bypassStats(handle),
      info: () => ({ enabled: true, ...bypassStats(handle) }),
      idle,
      stop: () => {
        if (stopped) return;
        stopped = true;
        bypassStop(handle);
        closeSync(o.listenFd);
      },
    };
  } finally {
    fds.forEach((fd) => closeSync(fd));
    closeSync(ns.pidfd);
  }
}
