// --net=vpnkit: VPNKit (github.com/moby/vpnkit; no Debian package) runs the
// NAT and listens on an "ethernet" unix socket in the state dir, as upstream
// starts it: `vpnkit --ethernet SOCK --mtu N` (plus `--host-ip 0.0.0.0` for
// --disable-host-loopback). We connect, speak its vmnet protocol (vmnet.ts):
// handshake, a VIF with our MAC, one DHCP DISCOVER to learn our address (as
// upstream's client does), then hand the socket and the tap (opened inside by
// nsRun, given vpnkit's MAC) to the native frame pump (2-byte little-endian
// length per frame). Addresses as upstream: the offered IP (192.168.65.3 by
// default)/24, gateway and DNS 192.168.65.1; the host is 192.168.65.2.
//
// This driver is written to vpnkit's documented protocol and tested against a
// small protocol peer (test/fixtures/fake-vpnkit.mjs); it has not run against
// a real vpnkit.
import { closeSync, mkdtempSync, rmSync, rmdirSync, type FSWatcher, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { RkError, type Logger } from '@rk/cli';
import { resolveCommand } from '@rk/namespaces';
import { connectUnix, setTapMac, startFramePump, stopFramePump } from '@rk/native';
import { configureInterface, runOps } from '../configure.js';
import { endedBy, startHelper, type Helper } from '../helper.js';
import { supervise } from '../supervise.js';
import { macString } from '../packet.js';
import { discoverOverStream } from '../stream-dhcp.js';
import type { NetConfig, NetDriver, NetInfo, NetTarget, RunningNet } from '../types.js';
import { newUuid, vmnetHandshake } from '../vmnet.js';

export const VPNKIT_SOCKET = 'vpnkit-ethernet.sock';
export const VPNKIT_GATEWAY = '192.168.65.1';
export const VPNKIT_DNS = '192.168.65.1';
const START_TIMEOUT_MS = 10_000;

function findVpnkit(binary: string): string {
  try {
    return resolveCommand(binary);
  } catch {
    throw new RkError(`${binary} not found: VPNKit is not packaged by Debian: build it from https://github.com/moby/vpnkit and pass --vpnkit-binary=PATH (or use --net=slirp4netns)`);
  }
}

export function vpnkitArgs(cfg: NetConfig, socket: string): string[] {
  const args = ['--ethernet', socket, '--mtu', String(cfg.mtu)];
  if (cfg.disableHostLoopback) args.push('--host-ip', '0.0.0.0');
  return args;
}

/**
 * Connects once vpnkit listens on `path`: the socket file's creation is
 * watched (inotify). A connect between its bind() and listen() is refused
 * and no further event comes, so that rare case is retried after a few ms.
 */
function connectWhenListening(path: string, exited: Promise<string>): Promise<number> {
  return new Promise((resolve, reject) => {
    let watcher: FSWatcher | undefined;
    let done = false;
    const finish = (err: Error | undefined, fd?: number) => {
      if (done) {
        if (fd !== undefined) closeSync(fd);
        return;
      }
      done = true;
      watcher?.close();
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(fd!);
    };
    let refused = 0;
    const attempt = () => {
      if (done) return;
      try {
        finish(undefined, connectUnix(path));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ECONNREFUSED') setTimeout(attempt, Math.min(100, 5 * ++refused));
        else if (code !== 'ENOENT') finish(new RkError(`cannot connect to vpnkit at ${path}: ${(e as Error).message}`));
      }
    };
    const timer = setTimeout(() => finish(new RkError(`vpnkit did not listen on ${path} within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    exited.then((why) => finish(new RkError(`vpnkit failed to start: ${why}`)));
    try {
      watcher = watch(dirname(path), (_event, name) => {
        if (name === null || name === basename(path)) attempt();
      });
    } catch (e) {
      finish(new RkError(`cannot watch ${dirname(path)} for vpnkit's socket: ${(e as Error).message}`));
      return;
    }
    attempt();
  });
}

export const vpnkit: NetDriver = {
  name: 'vpnkit',
  defaultMtu: 1500,
  defaultIfname: 'tap0',
  async preflight(cfg, log) {
    findVpnkit(cfg.vpnkitBinary);
    if (cfg.mtu !== 1500) log.warn(`vpnkit is known to have issues with non-1500 MTU (current: ${cfg.mtu})`);
  },
  async start(t: NetTarget, cfg: NetConfig, log: Logger): Promise<RunningNet> {
    const file = findVpnkit(cfg.vpnkitBinary);
    // Without a state dir (rk-net PID), the socket lives in a private temporary dir.
    const tmp = t.stateDir ? undefined : mkdtempSync(join(process.env.XDG_RUNTIME_DIR || tmpdir(), 'rk-vpnkit-'));
    const socket = join(t.stateDir ?? tmp!, VPNKIT_SOCKET);
    rmSync(socket, { force: true });
    // The socket, then our own private dir if we made one: nothing is removed recursively.
    const cleanupFiles = () => {
      rmSync(socket, { force: true });
      if (tmp) rmdirSync(tmp);
    };
    const fds = new Set<number>();
    const closeAll = () => {
      for (const fd of fds) closeSync(fd);
      fds.clear();
    };
    let helper: Helper | undefined;
    try {
      const args = vpnkitArgs(cfg, socket);
      helper = await startHelper({ binary: file, args, pkg: 'vpnkit', flag: '--vpnkit-binary', log, prefix: '[rootlesskit:vpnkit]' });
      log.debug(`started vpnkit ${args.join(' ')} (pid ${helper.pid})`);
      const h = helper;
      const exitReason = h.exited.then((st) => h.describeExit(st));
      const sock = await connectWhenListening(socket, exitReason);
      fds.add(sock);
      const uuid = newUuid();
      const abort = exitReason.then((why) => Promise.reject(new RkError(`vpnkit failed to start: ${why}`)));
      abort.catch(() => {});
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
      });
      const vif = await Promise.race([vmnetHandshake(sock, uuid), abort, timeout])
        .catch((e: Error) => {
          throw e instanceof RkError ? e : new RkError(`vpnkit handshake on ${socket} failed: ${e.message}`);
        })
        .finally(() => clearTimeout(timer));
      log.debug(`vpnkit (vmnet version ${vif.version}) gave VIF ${uuid}: mac ${macString(vif.mac)}, mtu ${vif.mtu}, max packet ${vif.maxPacketSize}`);
      const offer = await discoverOverStream({ inFd: sock, outFd: sock, littleEndian: true, mac: vif.mac, timeoutMs: START_TIMEOUT_MS, aborted: exitReason }).catch((e: Error) => {
        throw new RkError(`vpnkit did not give an address: ${e.message}`);
      });
      log.debug(`vpnkit offered ${offer.yiaddr}`);
      const info: NetInfo = {
        driver: 'vpnkit',
        ifname: cfg.ifname,
        mtu: cfg.mtu,
        ip: offer.yiaddr,
        prefix: 24,
        gateway: VPNKIT_GATEWAY,
        dns: [VPNKIT_DNS],
        hostLoopback: !cfg.disableHostLoopback,
        sockets: { vpnkitEthernet: socket },
      };
      const [tapFd] = runOps(t, [{ op: 'tap', name: cfg.ifname }], `create ${cfg.ifname}`) as [number];
      fds.add(tapFd);
      setTapMac(tapFd, vif.mac);
      configureInterface(t, info);
      let pumpEnded: (why: string) => void = () => {};
      const pumpEnd = new Promise<string>((resolve) => (pumpEnded = resolve));
      const pump = startFramePump(tapFd, sock, sock, true, (why) => pumpEnded(`vpnkit connection: ${why}`));
      fds.clear();
      // Not restarted: a new vpnkit would need a new handshake and its own MAC on a tap that is up.
      return supervise({
        what: 'vpnkit',
        info,
        log,
        first: {
          pid: h.pid,
          died: endedBy(h.exited.then((st) => h.howExited(st)), pumpEnd),
          async stop() {
            stopFramePump(pump);
            await h.kill();
          },
        },
        release: cleanupFiles,
      });
    } catch (e) {
      closeAll();
      await helper?.kill();
      cleanupFiles();
      throw e;
    }
  },
};
