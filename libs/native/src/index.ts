// Typed wrapper of the native addon: the only module that loads the .node file.
import { readSync } from 'node:fs';
import { createRequire } from 'node:module';

/** One filesystem step of a mount plan, run natively (see src/plan.cc). */
export type PlanStep =
  | { op: 'mount'; source?: string; target: string; fstype?: string; flags?: number; data?: string; optional?: boolean }
  | { op: 'umount'; target: string; flags?: number; optional?: boolean }
  | { op: 'mkdir'; path: string; mode?: number; existOk?: boolean; optional?: boolean }
  | { op: 'rmdir'; path: string; optional?: boolean }
  | { op: 'symlink'; target: string; path: string; optional?: boolean }
  | { op: 'ifup'; name: string; optional?: boolean }
  | { op: 'unlink'; path: string; optional?: boolean }
  | { op: 'mkfile'; path: string; mode?: number; optional?: boolean }
  /** open_tree(path, OPEN_TREE_CLONE|AT_RECURSIVE): a detached copy of the mount tree at path, kept in `slot` (0..7). */
  | { op: 'cloneTree'; path: string; slot: number; optional?: boolean }
  /** move_mount the detached tree in `slot` onto target (closes the slot). */
  | { op: 'moveTree'; slot: number; target: string; optional?: boolean }
  /** open_tree(the detached tree in `from`, relative path, OPEN_TREE_CLONE|AT_RECURSIVE) into `slot`: a submount of that tree. */
  | { op: 'cloneFrom'; from: number; path: string; slot: number; optional?: boolean }
  /**
   * An overlay on target: lower = the detached tree in `slot` (kept open),
   * upper/work on a private tmpfs; the upper dir (the overlay's root) gets
   * `mode`. With elseSkip, a refusal skips that many steps (an alternative) instead of failing.
   */
  | { op: 'overlay'; slot: number; target: string; mode: number; elseSkip?: number; optional?: boolean }
  /** Skip the next `count` steps (the end of an alternative). */
  | { op: 'skip'; count: number };

/** A path, argv element or environment entry: a string (UTF-8) or raw bytes. */
export type Bytes = string | Buffer;

/** Signal dispositions and mask for CMD: hex masks, bit (sig - 1) (as /proc/PID/status shows them). */
export interface InheritedSignals {
  ignore: string;
  block: string;
}

export interface NativeSpawnOptions {
  /** Absolute path of the program (resolved before the call). */
  file: Bytes;
  argv: Bytes[];
  /** "KEY=value" entries. */
  env: Bytes[];
  /** CLONE_NEW* flags for clone(2). */
  cloneFlags: number;
  /** Hold the child before the plan and exec until a byte arrives on gateFd. */
  gate: boolean;
  /** With gate: after the plan, report PlanDone and wait for a second byte before exec. */
  holdAfterPlan?: boolean;
  /** Signal the child gets when this thread dies (0: none). */
  pdeathsig: number;
  /** Child fd i becomes fds[i]; -1 closes it. Default [0, 1, 2]. */
  fds?: number[];
  /** Steps run in the child after the gate, before exec. */
  plan?: PlanStep[];
  /** Stay as a PID-1 reaper that forks the command (with CLONE_NEWPID). */
  reaper?: boolean;
  /** With reaper: also reap orphans (default true); false waits for the command only. */
  reapOrphans?: boolean;
  /** Replace the value of the env entry LISTEN_PID= with the PID of CMD (socket activation). */
  fillListenPid?: boolean;
  /** Dispositions (SIG_IGN) and mask CMD gets right before exec (default: none ignored, none blocked). */
  signals?: InheritedSignals;
  /** A unix socket connected to the bypass supervisor: right before exec, the child installs the connect() filter and hands its listener over it. */
  bypassFd?: number;
}

/** What statAt reports (never following a final symlink). */
export interface StatAtResult {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  dev: number;
  ino: number;
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

/** One step run inside another process's namespaces by nsRun (see src/process/nsexec.h). */
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

export interface FramePumpStats {
  /** Frames read from the tap and sent to the peer. */
  framesOut: number;
  /** Frames received from the peer and written to the tap. */
  framesIn: number;
  /** Frames from the peer the tap refused. */
  dropped: number;
}

export interface OpenedNamespaces {
  /** pidfd of the process (close-on-exec): the fds below are of this process, not of a recycled PID. */
  pidfd: number;
  fds: Record<string, number>;
  inodes: Record<string, number>;
}

/** Options of the userspace NAT engine (the rk-nat-engine process); see natEngineConfig. */
export interface SlirpOptions {
  /** The tap's MTU, 68..65521. Default 1500. */
  mtu?: number;
  /** The tap was opened with IFF_VNET_HDR: checksum and TSO offloads are turned on and used both ways. */
  vnetHdr?: boolean;
  /** IPv4 network of the namespace side. Default 10.0.2.0 with prefix 24. */
  network?: string;
  prefix?: number;
  /** The namespace's own address (DHCP hands it out). Default network + 100. */
  guest?: string;
  /** The gateway: host services answer here, and it is the host's 127.0.0.1 unless disableHostLoopback. Default network + 2 (slirp4netns); upstream's gvisor-tap-vsock layout uses network + 1 for gateway and DNS. */
  host?: string;
  /** The DNS forwarder's address (may equal host). Default network + 3. */
  dns?: string;
  /** Refuse connections to the gateway's ports (the host's 127.0.0.1). */
  disableHostLoopback?: boolean;
  /** IPv6: prefix6/prefix6Len (default fd00::/64), host6 (prefix::2), dns6 (prefix::3). The caller configures the namespace's address (e.g. fd00::100/64); router advertisements also offer SLAAC. */
  ipv6?: boolean;
  prefix6?: string;
  prefix6Len?: number;
  host6?: string;
  dns6?: string;
  /** For tests: DNS sent to `dns` (IPv4, port 53, UDP and TCP) goes to this "IPv4:PORT" instead of the host's resolv.conf nameserver. */
  dnsUpstream?: string;
  /** Engine sockets (libslirp's host sockets) above which frames that would open another are dropped. Default 4096. */
  maxSockets?: number;
  /** Outbound UDP of flows libslirp has a host socket for leaves in sendmmsg batches (src/nat/udp_fast.h). Default true; false sends every datagram through libslirp. */
  udpFastPath?: boolean;
  /** With vnetHdr: the tap also hands over VXLAN/Geneve-encapsulated TCP super-frames whole, where the kernel can (6.17+), cut up by the engine (src/nat/tunnel_gso.h). Default true. */
  tunnelGso?: boolean;
}

export interface SlirpStats {
  /** Frames from the namespace, and their bytes (a GSO frame counts once). */
  inPackets: number;
  inBytes: number;
  /** Frames to the namespace. */
  outPackets: number;
  outBytes: number;
  inDropped: number;
  outDropped: number;
  /** Of those, 64 KiB TCP super-frames (virtio-net GSO). */
  inGso: number;
  outGso: number;
  guestErrors: number;
  /** libslirp's host sockets open now. */
  openSockets: number;
  /** Frames the frame filter dropped (fragments, host loopback, socket budget, malformed). */
  filtered: number;
  /** The UDP fast path: datagrams sent, sendmmsg calls, datagrams the host socket refused, flows now. */
  udpFastPackets: number;
  udpFastBatches: number;
  udpFastDropped: number;
  udpFastFlows: number;
  /** Of the fast path's sends, UDP GSO ones (a run of same-size datagrams to one address, cut up by the kernel). */
  udpFastGso: number;
  /** Of inGso, VXLAN/Geneve-encapsulated TCP super-frames (UDP tunnel GSO, Linux 6.17+), cut into datagrams by the engine (src/nat/tunnel_gso.h). */
  inTunnelGso: number;
}

/** Options of the NAT engine's frame filter, as frameFilterProbe takes them (tests only). */
export interface FrameFilterConfig {
  disableHostLoopback?: boolean;
  /** Engine sockets at which frames opening a new flow are dropped. Default 4096. */
  maxSockets?: number;
  /** Addresses libslirp answers itself (echo requests to them open no socket). */
  gateway4?: string;
  dns4?: string;
  gateway6?: string;
  dns6?: string;
  /** "IPv4:PORT" that TCP/UDP may reach despite disableHostLoopback (the engine's own DNS upstream in tests). */
  loopbackExempt?: string;
  reassMaxDatagrams?: number;
  reassMaxBytes?: number;
  reassTimeoutMs?: number;
  udpSourceWindowMs?: number;
}

/** One step of a probe: applied in the order openSockets, expire, frame, snapshot. */
export interface FrameFilterStep {
  nowMs: number;
  frame?: Buffer;
  openSockets?: number;
  expire?: boolean;
  snapshot?: boolean;
}

export interface FrameFilterStats {
  passed: number;
  malformedDropped: number;
  loopbackDropped: number;
  budgetDropped: number;
  /** Fragments refused or discarded with their datagram, and IPv6 fragments. */
  fragDropped: number;
  fragHeld: number;
  reassembled: number;
  reassBad: number;
  reassTooLong: number;
  reassExpired: number;
  reassEvicted: number;
  v6FragDropped: number;
  /** Gauges: datagrams in reassembly, the bytes they hold, the most ever held. */
  reassPending: number;
  reassBytes: number;
  reassBytesPeak: number;
  udpSources: number;
  openSockets: number;
}

export type FrameFilterVerdict = 'pass' | 'drop' | 'held' | 'reassembled';

export interface FrameFilterProbeResult {
  /** Per step; null for a step without a frame. */
  verdicts: (FrameFilterVerdict | null)[];
  /** Per step: the frame handed on (reassembled ones, or all with outputs 'all'). */
  outputs: (Buffer | null)[];
  snapshots: (FrameFilterStats & { step: number; nextExpiryMs: number })[];
  stats: FrameFilterStats;
  logs: string[];
  nextExpiryMs: number;
}


/** Options of a relay engine (see src/relay.h). */
export interface RelayOptions {
  /** Worker threads, each with its own epoll loop (default 1). */
  threads?: number;
  /** Pipe size asked with F_SETPIPE_SZ (default 1 MiB; the user's pipe allowance may cap it). */
  pipeSize?: number;
  /** Sockets made in advance per namespace, address family and proto, shared by its ports (default 8). */
  nsPool?: number;
}

/** A UNIX socket: a path, or a name in the abstract namespace (no leading NUL, none added). */
export type RelayUnixAddr = { path: string; abstract?: undefined } | { abstract: string; path?: undefined };

/** How a listening socket file is made (bind never follows a symlink nor reuses an existing file). */
export interface RelayUnixListen {
  /** Permission bits of the socket file, exactly (default: 0777 less the umask). */
  mode?: number;
  uid?: number;
  gid?: number;
  /** Remove an existing file at the path first (socat's unlink-early); otherwise EADDRINUSE. */
  unlinkEarly?: boolean;
}

/** One forwarded port, as the relay sees it: where to listen, where to connect. */
export interface RelayPortSpec {
  /** tcp: any stream (TCP or UNIX sockets, on either side). */
  proto: 'tcp' | 'udp';
  /** One entry per listening socket (e.g. one dual-stack "::", or "0.0.0.0" and "::" v6only). */
  listen: ({ ip: string; port: number; v6only?: boolean } | (RelayUnixAddr & RelayUnixListen))[];
  target: { ip: string; port: number } | RelayUnixAddr;
  /**
   * Namespace fds (user first, then net) the target lives in; absent: on the host.
   * For a UNIX target: user, mnt, net (the path is resolved in that mount namespace).
   */
  nsFds?: number[];
  /** Streams: at most this many connections at once; more are reset (one log line). */
  maxConns?: number;
  /** Streams: close a connection after this long without a byte either way (0: never). */
  idleMs?: number;
  /** Streams: the PROXY protocol header (version 1 or 2) written to the target first. */
  proxy?: 0 | 1 | 2;
  /** Serve one connection and stop listening; a "done" event follows its end. */
  oneShot?: boolean;
  /** Streams over IP: only clients in these networks (others are closed at once). */
  ranges?: { ip: string; prefix: number }[];
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
  /**
   * limit: a budget was hit (sent whether debug is on or not, once per port and budget);
   * done: a oneShot port's connection ended (always sent).
   */
  kind: 'open' | 'close' | 'refused' | 'reset' | 'flow' | 'flowEnd' | 'error' | 'limit' | 'done';
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

/** Options of the socket bypass's supervisor (see src/bypass/bypass.h). */
export interface BypassOptions {
  /** bypass.sock, listening: each connection hands one filter's listener over. Duplicated. */
  listenFd: number;
  /** A NETLINK_ROUTE socket made inside the namespace (its routes decide). Duplicated. */
  netlinkFd: number;
  /** An fd of the namespace's net ns (sockets of other namespaces are nested ones). */
  netnsFd: number;
  /** Subnets (CIDR) never bypassed. */
  ignore?: string[];
  /** Bypass sockets of nested network namespaces too. */
  nested?: boolean;
  /** Blocking connects waiting in the supervisor at once (default 1024); past it, the namespace path. */
  maxInFlight?: number;
}

/** A batch entry: a bypassed connection (only while debug is on), a budget hit, or "no filtered process left". */
export interface BypassEvent {
  kind: 'bypass' | 'limit' | 'idle';
  pid?: number;
  proto?: 'tcp' | 'udp';
  dst?: string;
  code?: string;
  what?: string;
}

export interface BypassStats {
  bypassed: number;
  left: number;
  fallback: number;
  failed: number;
  inFlight: number;
  listeners: number;
  budgetHits: number;
}

declare const bypassBrand: unique symbol;
export type BypassHandle = { readonly [bypassBrand]: true };

declare const relayBrand: unique symbol;
type RelayHandle = { readonly [relayBrand]: true };

interface Addon {
  makePipe(): [number, number];
  natEngineConfig(opts: SlirpOptions): Buffer;
  memfdCreate(name: string, size: number): number;
  frameFilterProbe(
    config: FrameFilterConfig,
    steps: FrameFilterStep[],
    opts?: { outputs?: 'reassembled' | 'all' | 'none' },
  ): FrameFilterProbeResult;
  tunnelGsoProbe(header: Buffer, frame: Buffer): Buffer[] | null;
  relayCreate(o: RelayOptions, onEvent?: (e: RelayEvent) => void): RelayHandle;
  relayAddPort(h: RelayHandle, p: RelayPortSpec): RelayPortResult;
  relayRemovePort(h: RelayHandle, id: number): boolean;
  relayStats(h: RelayHandle): RelayStats;
  relaySetDebug(h: RelayHandle, on: boolean): void;
  relayClose(h: RelayHandle): void;
  bypassStart(o: BypassOptions, onEvents?: (batch: BypassEvent[]) => void): BypassHandle;
  bypassStats(h: BypassHandle): BypassStats;
  bypassSetDebug(h: BypassHandle, on: boolean): void;
  bypassStop(h: BypassHandle): void;
  bypassInstall(sockFd: number): void;
  nsRun(nsFds: number[], ops: NsOp[]): number[];
  openNamespaces(pid: number, kinds: string[]): OpenedNamespaces;
  listenUnix(path: string): number;
  whenReadable(fd: number, cb: () => void): void;
  watchChild(pid: number, reportFd: number, cb: (e: WatchEvent) => void): void;
  runProgram(file: string, argv: string[], cb: (r: ProgramResult) => void): void;
  spawn(o: NativeSpawnOptions): NativeSpawnResult;
  /** execve; fds 0..2 and keepFds are passed on (close-on-exec and O_NONBLOCK cleared). */
  exec(file: Bytes, argv: Bytes[], env: Bytes[], keepFds?: number[], signals?: InheritedSignals): never;
  openAt(dirfd: number, name: Bytes, flags: number, mode?: number): number;
  unlinkAt(dirfd: number, name: Bytes, isDir: boolean): void;
  mkfifoAt(dirfd: number, name: Bytes, mode: number): void;
  mkdirAt(dirfd: number, name: Bytes, mode: number): void;
  statAt(dirfd: number, name: Bytes): StatAtResult;
  renameAt(dirfd: number, from: Bytes, to: Bytes, noReplace: boolean): void;
  pidfdOpen(pid: number): number;
  pidfdSignal(pidfd: number, sig: number): void;
  ignoreSignals(hexMask: string): void;
  flock(fd: number, exclusive: boolean, nonblocking: boolean): boolean;
  mkfifo(path: string, mode: number): void;
  runPlan(plan: PlanStep[]): void;
  constants: Record<string, number>;
  startFramePump(tapFd: number, inFd: number, outFd: number, littleEndian: boolean, onEnd: (reason: string) => void): number;
  stopFramePump(id: number): void;
  framePumpStats(id: number): FramePumpStats | undefined;
  setTapMac(tapFd: number, mac: Buffer): void;
  connectUnix(path: string): number;
  bindUdpToDevice(fd: number, ifname: string, port: number): void;
  setNonBlocking(fd: number, on: boolean): void;
  ifMac(sockFd: number, ifname: string): Buffer;
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
export const bypassStart = addon.bypassStart;
export const bypassStats = addon.bypassStats;
export const bypassSetDebug = addon.bypassSetDebug;
export const bypassStop = addon.bypassStop;
/** Installs the bypass filter on the calling thread and hands its listener over sockFd (closed): only right before exec. */
export const bypassInstall = addon.bypassInstall;
/** pipe2(O_CLOEXEC): [readFd, writeFd]. */
export const makePipe = addon.makePipe;
/** Opens /proc/PID/ns/<kind> for each kind, pinned to the process by a pidfd (ESRCH when gone). */
export const openNamespaces = addon.openNamespaces;
// Files relative to a directory fd (O_CLOEXEC always added; names never
// resolved through a final symlink by statAt), pidfds, inherited signals.
/** openat(2): an fd (close-on-exec); dirfd constants.AT_FDCWD for a plain path. */
export const openAt = addon.openAt;
/** unlinkat(2); isDir: AT_REMOVEDIR (an empty dir only). */
export const unlinkAt = addon.unlinkAt;
/** mkfifoat(3). */
export const mkfifoAt = addon.mkfifoAt;
/** mkdirat(2). */
export const mkdirAt = addon.mkdirAt;
/** fstatat(2) with AT_SYMLINK_NOFOLLOW; name "" stats dirfd itself. */
export const statAt = addon.statAt;
/** renameat2(2) within one dir; noReplace: RENAME_NOREPLACE (EEXIST when `to` exists). */
export const renameAt = addon.renameAt;
/** pidfd_open(2): an fd that pins the process (close-on-exec). */
export const pidfdOpen = addon.pidfdOpen;
/** pidfd_send_signal(2); sig 0 checks the process is still there (ESRCH when not). */
export const pidfdSignal = addon.pidfdSignal;
/** SIG_IGN for each signal in the hex mask (bit sig-1), but SIGCHLD, SIGKILL, SIGSTOP. */
export const ignoreSignals = addon.ignoreSignals;

export const constants = addon.constants as {
  CLONE_NEWUSER: number; CLONE_NEWNS: number; CLONE_NEWNET: number; CLONE_NEWPID: number;
  CLONE_NEWUTS: number; CLONE_NEWIPC: number; CLONE_NEWCGROUP: number;
  MS_RDONLY: number; MS_NOSUID: number; MS_NODEV: number; MS_NOEXEC: number; MS_REMOUNT: number;
  MS_BIND: number; MS_MOVE: number; MS_REC: number; MS_PRIVATE: number; MS_SLAVE: number;
  MS_SHARED: number; MS_UNBINDABLE: number; MNT_DETACH: number; SIGKILL: number;
  O_RDONLY: number; O_WRONLY: number; O_RDWR: number; O_CREAT: number; O_EXCL: number; O_NOFOLLOW: number;
  O_DIRECTORY: number; O_NONBLOCK: number; O_TRUNC: number; O_APPEND: number; AT_FDCWD: number;
};

/**
 * Frames between a tap fd and a stream that carries each frame after a 2-byte
 * length (big-endian: vde_plug's stream; little-endian: vpnkit's vmnet), on
 * two dedicated native threads: frames are read from inFd and written to
 * outFd (the same fd for a socket). The pump owns the fds from then on. onEnd(reason) is called once if the peer or the tap goes away (not
 * after stopFramePump); it does not keep the event loop alive.
 */
export const startFramePump = addon.startFramePump;
/** Stops a pump, waits for its threads, closes its fds (idempotent). */
export const stopFramePump = addon.stopFramePump;
export const framePumpStats = addon.framePumpStats;
/** Sets a tap's MAC address through the tap's own fd (SIOCSIFHWADDR). */
export const setTapMac = addon.setTapMac;
/** A connected unix stream socket (close-on-exec, non-blocking); ENOENT/ECONNREFUSED while nobody listens. */
export const connectUnix = addon.connectUnix;
/** SO_REUSEADDR, SO_BROADCAST, SO_BINDTODEVICE ifname, bind 0.0.0.0:port (a DHCP client's socket, made in the namespace). */
export const bindUdpToDevice = addon.bindUdpToDevice;
/** O_NONBLOCK on or off. */
export const setNonBlocking = addon.setNonBlocking;
/** MAC address of interface `ifname` in the network namespace socket `sockFd` was made in. */
export const ifMac = addon.ifMac;

/** Report record kinds written by the child (see src/process/spawn.cc). */
export const ReportKind = { Error: 1, ExecOk: 2, Status: 3, PlanDone: 4 } as const;
/** Negative stages of a report; a stage >= 0 is an index into the plan. */
export const Stage = { Exec: -1, Gate: -2, Fds: -3, Setup: -4, Reaper: -5, Bypass: -6 } as const;
export const REPORT_SIZE = 16;

/**
 * The NAT engine runs as a process of its own (rk-nat-engine, built beside
 * the addon; see src/nat/engine_main.cc): fd 3 the tap, fd 4 a pipe with
 * natEngineConfig's bytes, fd 5 a memfd (ENGINE_STATS_BYTES) its counters are
 * published in. natEngineConfig checks the options (TypeError naming the bad
 * one).
 */
export const natEngineConfig = addon.natEngineConfig;
export const natEnginePath: string = require.resolve('@rk/native/build/Release/rk-nat-engine');
export const ENGINE_STATS_BYTES = 4096;
/** A close-on-exec memfd of that size, zero-filled. */
export const memfdCreate = addon.memfdCreate;
/** Exit statuses of rk-nat-engine. */
export const ENGINE_EXIT = { error: 1, badSetup: 2, tapGone: 3 } as const;
const STATS_FIELDS = ['inPackets', 'inBytes', 'outPackets', 'outBytes', 'inDropped', 'outDropped', 'inGso', 'outGso', 'guestErrors', 'openSockets', 'filtered', 'udpFastPackets', 'udpFastBatches', 'udpFastDropped', 'udpFastFlows', 'udpFastGso', 'inTunnelGso'] as const;
/** The counters an engine published in its memfd (the order of EngineStats in src/nat/slirp_engine.h). */
export function readEngineStats(fd: number): SlirpStats {
  const b = Buffer.alloc(STATS_FIELDS.length * 8);
  readSync(fd, b, 0, b.length, 0);
  const out = {} as SlirpStats;
  STATS_FIELDS.forEach((k, i) => (out[k] = Number(b.readBigUInt64LE(i * 8))));
  return out;
}
/**
 * For tests only: runs the NAT engine's frame filter (src/nat/frame_filter.h)
 * over crafted frames, without an engine, and reports verdicts, reassembled
 * frames, counters and log lines.
 */
export const frameFilterProbe = addon.frameFilterProbe;
/**
 * For tests only: the NAT engine's UDP tunnel GSO splitter (src/nat/tunnel_gso.h) over one crafted frame: header is the
 * 24-byte virtio-net header, frame what follows it. Returns the segments, or null when the frame is refused.
 */
export const tunnelGsoProbe = addon.tunnelGsoProbe;

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
