// Typed wrapper of the native addon: the only module that loads the .node file.
import { createRequire } from 'node:module';

/** One filesystem step of a mount plan, run natively (see src/plan.cc). */
export type PlanStep =
  | { op: 'mount'; source?: string; target: string; fstype?: string; flags?: number; data?: string; optional?: boolean }
  | { op: 'umount'; target: string; flags?: number; optional?: boolean }
  | { op: 'mkdir'; path: string; mode?: number; existOk?: boolean; optional?: boolean }
  | { op: 'rmdir'; path: string; optional?: boolean }
  | { op: 'symlink'; target: string; path: string; optional?: boolean }
  | { op: 'ifup'; name: string; optional?: boolean };

export interface NativeSpawnOptions {
  /** Absolute path of the program (resolved before the call). */
  file: string;
  argv: string[];
  /** "KEY=value" strings. */
  env: string[];
  /** CLONE_NEW* flags for clone(2). */
  cloneFlags: number;
  /** Hold the child before the plan and exec until a byte arrives on gateFd. */
  gate: boolean;
  /** Signal the child gets when this thread dies (0: none). */
  pdeathsig: number;
  /** Child fd i becomes fds[i]; -1 closes it. Default [0, 1, 2]. */
  fds?: number[];
  /** Steps run in the child after the gate, before exec. */
  plan?: PlanStep[];
  /** Stay as a PID-1 reaper that forks the command (with CLONE_NEWPID). */
  reaper?: boolean;
  /** Replace the value of the env entry LISTEN_PID= with the PID of CMD (socket activation). */
  fillListenPid?: boolean;
}

export interface NativeSpawnResult {
  pid: number;
  /** Write end of the gate pipe, or -1. */
  gateFd: number;
  /** Read end of the report pipe: 16-byte records {kind, stage, errno, status}. */
  reportFd: number;
}

export interface WaitResult {
  code?: number;
  signal?: number;
  error?: NodeJS.ErrnoException;
}

export interface ProgramResult {
  code?: number;
  signal?: number;
  /** stdout and stderr together (first 64 KiB). */
  output: string;
  /** Set when the program could not be started (e.code 'ENOENT', ...). */
  error?: NodeJS.ErrnoException;
}

export type WatchEvent =
  | { type: 'report'; record: [number, number, number, number] }
  | { type: 'eof' }
  | { type: 'exit'; code?: number; signal?: number; error?: NodeJS.ErrnoException };

/** One step run inside another process's namespaces by nsRun (see src/nsexec.h). */
export type NsOp =
  | { op: 'tap'; name: string; flags?: number }
  | { op: 'socket'; family: number; type: number; proto?: number }
  | { op: 'link'; name: string; mtu?: number; up?: boolean }
  | { op: 'addr'; name: string; family: number; addr: Buffer; prefix: number }
  | { op: 'route'; family: number; addr?: Buffer; prefix?: number; gw?: Buffer; name?: string; table?: number; rtype?: number; del?: boolean }
  | { op: 'rule'; family: number; table: number; priority?: number; ipproto?: number; sportLo?: number; sportHi?: number; del?: boolean }
  | { op: 'write'; path: string; data: string }
  | { op: 'open'; path: string; flags: number }
  | { op: 'unshareNet' }
  | { op: 'bind'; path: string; target: string };

export interface OpenedNamespaces {
  /** pidfd of the process (close-on-exec): the fds below are of this process, not of a recycled PID. */
  pidfd: number;
  fds: Record<string, number>;
  inodes: Record<string, number>;
}

/** Options of a relay engine (see src/relay.h). */
export interface RelayOptions {
  /** Worker threads, each with its own epoll loop (default 1). */
  threads?: number;
  /** Pipe size asked with F_SETPIPE_SZ (default 1 MiB; the user's pipe allowance may cap it). */
  pipeSize?: number;
  /** Sockets made in advance per namespace port (default 8). */
  nsPool?: number;
}

/** One forwarded port, as the relay sees it: where to listen, where to connect. */
export interface RelayPortSpec {
  proto: 'tcp' | 'udp';
  /** One entry per listening socket (e.g. one dual-stack "::", or "0.0.0.0" and "::" v6only). */
  listen: { ip: string; port: number; v6only?: boolean }[];
  target: { ip: string; port: number };
  /** Namespace fds (user first, then net) the target lives in; absent: on the host. */
  nsFds?: number[];
  /** Connect from the client's own address (IP_TRANSPARENT inside the namespace). */
  transparent?: boolean;
  /** UDP: a flow with no datagram either way for this long ends (default 90 s). */
  udpIdleMs?: number;
}

export interface RelayPortResult {
  id: number;
  /** The port each listener got (a requested 0 resolved). */
  ports: number[];
  /** Whether source addresses are kept (asked for, and allowed in the namespace). */
  transparent: boolean;
}

/** A per-connection event, sent only while debug is on. */
export interface RelayEvent {
  kind: 'open' | 'close' | 'refused' | 'reset' | 'flow' | 'flowEnd' | 'error';
  port: number;
  client?: string;
  target?: string;
  /** Bytes (TCP) or datagrams (UDP) client -> target and back, at close. */
  up?: number;
  down?: number;
  code?: string;
  message?: string;
  what?: string;
}

export interface RelayStats {
  threads: number;
  connections: number;
  flows: number;
  accepted: number;
  pipesInUse: number;
  pipesIdle: number;
  nsSocketsPooled: number;
}

declare const relayBrand: unique symbol;
type RelayHandle = { readonly [relayBrand]: true };

interface Addon {
  relayCreate(o: RelayOptions, onEvent?: (e: RelayEvent) => void): RelayHandle;
  relayAddPort(h: RelayHandle, p: RelayPortSpec): RelayPortResult;
  relayRemovePort(h: RelayHandle, id: number): boolean;
  relayStats(h: RelayHandle): RelayStats;
  relaySetDebug(h: RelayHandle, on: boolean): void;
  relayClose(h: RelayHandle): void;
  nsRun(nsFds: number[], ops: NsOp[]): number[];
  openNamespaces(pid: number, kinds: string[]): OpenedNamespaces;
  listenUnix(path: string): number;
  whenReadable(fd: number, cb: () => void): void;
  watchChild(pid: number, reportFd: number, cb: (e: WatchEvent) => void): void;
  runProgram(file: string, argv: string[], cb: (r: ProgramResult) => void): void;
  spawn(o: NativeSpawnOptions): NativeSpawnResult;
  /** execve; fds 0..2 and keepFds are passed on (close-on-exec and O_NONBLOCK cleared). */
  exec(file: string, argv: string[], env: string[], keepFds?: number[]): never;
  flock(fd: number, exclusive: boolean, nonblocking: boolean): boolean;
  mkfifo(path: string, mode: number): void;
  runPlan(plan: PlanStep[]): void;
  constants: Record<string, number>;
}

const require = createRequire(import.meta.url);
// Resolved through the package name so that bundled apps find it too.
const addon: Addon = require('@rk/native/build/Release/rk_native.node');

export const spawn = addon.spawn;
export const exec = addon.exec;
/** Waits for a child on a dedicated thread (watchChild without a report pipe). */
export function waitChild(pid: number, cb: (r: WaitResult) => void): void {
  addon.watchChild(pid, -1, (e) => {
    if (e.type !== 'exit') return;
    const { type: _type, ...result } = e;
    cb(result);
  });
}
/** Reads a spawned child's report pipe, then waits for it, on one dedicated thread. */
export const watchChild = addon.watchChild;
export const flock = addon.flock;
/** mkfifo(3): throws Node-style errors (code 'EEXIST', ...). */
export const mkfifo = addon.mkfifo;
export const runPlan = addon.runPlan;
/** A listening unix socket at `path` (the file must not exist): its fd, close-on-exec, non-blocking. */
export const listenUnix = addon.listenUnix;
/** Calls cb once fd is readable (a listening socket: a client is waiting); does not keep Node alive. */
export const whenReadable = addon.whenReadable;

/**
 * Runs a program (absolute path; argv[0] included) with stdin /dev/null and
 * collects its output, without loading Node's child_process.
 */
export function runProgram(file: string, argv: string[]): Promise<ProgramResult> {
  return new Promise((resolve) => addon.runProgram(file, argv, resolve));
}
/**
 * Runs ops inside the namespaces nsFds (user first) in a short-lived helper
 * that shares our fd table: returns the fd each op made (tap, socket, open)
 * or -1. Throws a Node-style error with .op (index of the failing op; -1 when
 * entering the namespaces failed).
 */
export const nsRun = addon.nsRun;
/** Opens /proc/PID/ns/<kind> for each kind, pinned to the process by a pidfd (ESRCH when gone). */
export const openNamespaces = addon.openNamespaces;
export const constants = addon.constants as {
  CLONE_NEWUSER: number; CLONE_NEWNS: number; CLONE_NEWNET: number; CLONE_NEWPID: number;
  CLONE_NEWUTS: number; CLONE_NEWIPC: number; CLONE_NEWCGROUP: number;
  MS_RDONLY: number; MS_NOSUID: number; MS_NODEV: number; MS_NOEXEC: number; MS_REMOUNT: number;
  MS_BIND: number; MS_MOVE: number; MS_REC: number; MS_PRIVATE: number; MS_SLAVE: number;
  MS_SHARED: number; MS_UNBINDABLE: number; MNT_DETACH: number; SIGKILL: number;
};

/** Report record kinds written by the child (see src/spawn.cc). */
export const ReportKind = { Error: 1, ExecOk: 2, Status: 3 } as const;
/** Negative stages of a report; a stage >= 0 is an index into the plan. */
export const Stage = { Exec: -1, Gate: -2, Fds: -3, Setup: -4, Reaper: -5 } as const;
export const REPORT_SIZE = 16;

/**
 * The port-forwarding relay: native threads that accept and move bytes
 * (splice for TCP, batched datagrams for UDP); JavaScript only adds and
 * removes ports. onEvent gets per-connection events while debug is on.
 */
export class Relay {
  private readonly h: RelayHandle;
  constructor(opts: RelayOptions = {}, onEvent?: (e: RelayEvent) => void) {
    this.h = addon.relayCreate(opts, onEvent);
  }
  /** Opens the listeners and starts serving; throws Node-style errors (EADDRINUSE, EACCES; .address, .port). */
  addPort(p: RelayPortSpec): RelayPortResult {
    return addon.relayAddPort(this.h, p);
  }
  /** Closes the port's listeners, connections and flows; returns once done (false: unknown id). */
  removePort(id: number): boolean {
    return addon.relayRemovePort(this.h, id);
  }
  stats(): RelayStats {
    return addon.relayStats(this.h);
  }
  setDebug(on: boolean): void {
    addon.relaySetDebug(this.h, on);
  }
  /** Stops the threads and closes everything. */
  close(): void {
    addon.relayClose(this.h);
  }
}
