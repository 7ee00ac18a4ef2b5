// --net=vdeplug_slirp: vde_plug (Debian vde2's vdeplug) with the slirp://
// plug (Debian libvdeplug-slirp) runs the NAT; the tap in the namespace is
// connected to it by us. Upstream's old driver ran a second vde_plug inside
// the namespace (`vde_plug slirp:// = nsenter … vde_plug tap://tap0`); here
// the tap is opened inside by nsRun and its frames cross vde_plug's
// stdin/stdout stream (2-byte big-endian length per frame) on our native frame
// pump, so no process of ours stays inside the namespace. Before the pump
// starts, one DHCP exchange over the stream shows that slirp is up and hands
// out the address we configure (10.0.2.100; gateway .2, DNS .3, as the seed
// describes).
import { closeSync, existsSync, readdirSync } from 'node:fs';
import { RkError, type Logger } from '@rk/cli';
import { makePipe, setNonBlocking, setTapMac, startFramePump, stopFramePump } from '@rk/native';
import { addrAt } from '../addr.js';
import { configureInterface, runOps } from '../configure.js';
import { endedBy, findBinary, startHelper, type Helper } from '../helper.js';
import { superviseOnTarget, type Incarnation } from '../supervise.js';
import { macString, randomMac } from '../packet.js';
import { discoverOverStream } from '../stream-dhcp.js';
import type { NetConfig, NetDriver, NetInfo, NetTarget, RunningNet } from '../types.js';

const FLAG = '--vde-plug-binary';
/** vde_plug's stream carries frames of at most VDE_ETHBUFSIZE (9216 + 14 + 4) bytes. */
export const VDE_MAX_MTU = 9216;
const PLUGIN = 'libvdeplug_slirp.so';

/** Where vdeplug4 looks for its plugins (Debian: /usr/lib/<triplet>/vdeplug). */
function pluginDirs(): string[] {
  const dirs = ['/usr/local/lib/vdeplug', '/usr/lib/vdeplug'];
  for (const base of ['/usr/lib', '/usr/local/lib']) {
    try {
      for (const d of readdirSync(base)) if (d.endsWith('-linux-gnu')) dirs.push(`${base}/${d}/vdeplug`);
    } catch {
      // no such dir
    }
  }
  return dirs;
}

function checkSetup(cfg: NetConfig): string {
  const file = findBinary(cfg.vdePlugBinary, 'vde2', FLAG);
  if (!pluginDirs().some((d) => existsSync(`${d}/${PLUGIN}`))) {
    throw new RkError(`vde_plug's slirp:// plug (${PLUGIN}) is not installed: sudo apt-get install libvdeplug-slirp`);
  }
  if (cfg.mtu > VDE_MAX_MTU) throw new RkError(`--mtu ${cfg.mtu} is too large for vdeplug_slirp: vde_plug's stream carries at most ${VDE_MAX_MTU} (use --mtu=${VDE_MAX_MTU} or less)`);
  return file;
}

export function vdeAddresses(cfg: NetConfig): NetInfo {
  const info: NetInfo = {
    driver: 'vdeplug_slirp',
    ifname: cfg.ifname,
    mtu: cfg.mtu,
    ip: addrAt(cfg.cidr, 100),
    prefix: cfg.cidr.prefix,
    gateway: addrAt(cfg.cidr, 2),
    dns: [addrAt(cfg.cidr, 3)],
    hostLoopback: !cfg.disableHostLoopback,
    sockets: {},
  };
  if (cfg.ipv6) {
    info.dns.push('fd00::3');
    info.ipv6 = { ip: 'fd00::100', prefix: 64, gateway: 'fd00::2' };
  }
  return info;
}

/** The slirp:// URL for vde_plug (a value with "/" is quoted, as vdeplug4 parses it). */
export function slirpUrl(cfg: NetConfig, info: NetInfo): string {
  const opts = ['v4'];
  if (cfg.ipv6) opts.push('v6', `addr6='fd00::2/64'`, 'vnameserver6=fd00::3');
  opts.push(`addr='${info.gateway}/${info.prefix}'`, `vnameserver=${info.dns[0]}`, `dhcp=${info.ip}`, `mtu=${cfg.mtu}`);
  if (cfg.disableHostLoopback) opts.push('disable_host_loopback');
  return `slirp:///${opts.join('/')}`;
}

export const vdeplugSlirp: NetDriver = {
  name: 'vdeplug_slirp',
  defaultMtu: 1500,
  defaultIfname: 'tap0',
  async preflight(cfg) {
    checkSetup(cfg);
  },
  async start(t: NetTarget, cfg: NetConfig, log: Logger): Promise<RunningNet> {
    const file = checkSetup(cfg);
    const info = vdeAddresses(cfg);
    const url = slirpUrl(cfg, info);
    const launch = (target: NetTarget) => launchVdePlug(file, url, target, info, log);
    const first = await launch(t);
    // A restart: a new vde_plug (a fresh slirp) and a new tap of the same name, configured the same.
    return superviseOnTarget(t, { what: 'vde_plug', info, log, first, launch });
  },
};

/** Makes the tap, starts vde_plug, checks slirp answers DHCP, configures the tap and pumps frames between them. */
async function launchVdePlug(file: string, url: string, t: NetTarget, info: NetInfo, log: Logger): Promise<Incarnation> {
  const [tapFd] = runOps(t, [{ op: 'tap', name: info.ifname }], `create ${info.ifname}`) as [number];
  const fds = new Set<number>([tapFd]);
  const closeAll = () => {
    for (const fd of fds) closeSync(fd);
    fds.clear();
  };
  let helper: Helper | undefined;
  try {
    const mac = randomMac();
    setTapMac(tapFd, mac);
    // vde_plug's stdin (we write frames to toVde) and stdout (we read fromVde).
    const [vdeIn, toVde] = makePipe();
    const [fromVde, vdeOut] = makePipe();
    for (const fd of [toVde, fromVde]) fds.add(fd);
    try {
      helper = await startHelper({ binary: file, args: [url], pkg: 'vde2', flag: FLAG, log, prefix: '[rootlesskit:vde_plug]', stdin: vdeIn, stdout: vdeOut });
    } finally {
      closeSync(vdeIn);
      closeSync(vdeOut);
    }
    log.debug(`started vde_plug ${url} (pid ${helper.pid})`);
    const h = helper;
    setNonBlocking(toVde, true);
    setNonBlocking(fromVde, true);
    const offer = await discoverOverStream({
      inFd: fromVde,
      outFd: toVde,
      littleEndian: false,
      mac,
      timeoutMs: 10_000,
      aborted: h.exited.then((st) => `vde_plug ${h.howExited(st)}`),
    }).catch((e: Error) => {
      throw new RkError(`vdeplug_slirp failed to start: ${e.message}`);
    });
    log.debug(`slirp offered ${offer.yiaddr} (router ${offer.routers.join(',')}, dns ${offer.dns.join(',')}) to ${macString(mac)}`);
    if (offer.yiaddr !== info.ip) throw new RkError(`vdeplug_slirp: slirp offered ${offer.yiaddr}, expected ${info.ip}`);
    configureInterface(t, info);
    let pumpEnded: (why: string) => void = () => {};
    const pumpEnd = new Promise<string>((resolve) => (pumpEnded = resolve));
    const pump = startFramePump(tapFd, fromVde, toVde, false, (why) => pumpEnded(why));
    fds.clear();
    return {
      pid: h.pid,
      died: endedBy(h.exited.then((st) => h.howExited(st)), pumpEnd.then((why) => `its stream: ${why}`)),
      async stop() {
        stopFramePump(pump);
        await h.kill();
      },
    };
  } catch (e) {
    closeAll();
    await helper?.kill();
    throw e;
  }
}
