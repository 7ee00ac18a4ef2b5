// --net=pasta: Debian's passt package. pasta joins the namespace, creates and
// configures the tap itself (--config-net) and runs the NAT; we run it in the
// foreground (so it is our child: killed with us, its death noticed) and learn
// that it is ready when it writes its PID to a FIFO we gave as --pid (it does
// so after the interface is configured). Arguments as upstream: address,
// netmask, gateway, DNS forwarder, --no-map-gw for --disable-host-loopback,
// --ipv4-only unless --ipv6, port forwarding "auto" only for
// --port-driver=implicit. Features are detected from `pasta --help` and
// upstream's `--host-lo-to-ns-lo --version` probe, so older pasta (Debian 12
// ships 0.0~git20230309) and newer both work.
import { closeSync, constants as fsc, mkdtempSync, openSync, readSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RkError, type Logger } from '@rk/cli';
import { mkfifo, runProgram, whenReadable } from '@rk/native';
import { addrAt } from '../addr.js';
import { findBinary, startHelper, type Helper } from '../helper.js';
import { superviseOnTarget, type Incarnation } from '../supervise.js';
import type { NetConfig, NetDriver, NetInfo, NetTarget, RunningNet } from '../types.js';

const PKG = 'passt';
const FLAG = '--pasta-binary';

export interface PastaFeatures {
  /** --config-net: pasta configures the interface (required). */
  configNet: boolean;
  noMapGw: boolean;
  dnsForward: boolean;
  /** --host-lo-to-ns-lo (passt 2024_10_30 and later): keeps port forwarding to the namespace's 127.0.0.1 working. */
  hostLoToNsLo: boolean;
  /** -T/-U (--tcp-ns/--udp-ns): forwarding from the namespace's loopback to the host's. */
  nsPorts: boolean;
}

/** pasta logs to syslog too; without a syslog socket it says so for every line. */
const SYSLOG_NOISE = /^Failed to send \d+ bytes to syslog$/;

const detected = new Map<string, Promise<PastaFeatures>>();

/** Detected once per binary (preflight and start both ask). */
export function detectPastaFeatures(file: string): Promise<PastaFeatures> {
  let f = detected.get(file);
  if (!f) {
    f = detect(file);
    detected.set(file, f);
    f.catch(() => detected.delete(file));
  }
  return f;
}

async function detect(file: string): Promise<PastaFeatures> {
  const v = await runProgram(file, [file, '--version']);
  if (v.error || v.code !== 0) {
    throw new RkError(`"${file} --version" failed (${v.error?.code ?? `status ${v.code}`}): make sure pasta is installed (sudo apt-get install ${PKG})`);
  }
  const [helpRun, probe] = await Promise.all([runProgram(file, [file, '--help']), runProgram(file, [file, '--host-lo-to-ns-lo', '--version'])]);
  const help = helpRun.output;
  return {
    configNet: help.includes('--config-net'),
    noMapGw: help.includes('--no-map-gw'),
    dnsForward: help.includes('--dns-forward'),
    hostLoToNsLo: !probe.error && probe.code === 0,
    nsPorts: help.includes('--tcp-ns'),
  };
}

function check(f: PastaFeatures, file: string): void {
  if (!f.configNet) throw new RkError(`${file} is too old: it has no --config-net (install a newer passt)`);
}

export function pastaArgs(t: NetTarget, cfg: NetConfig, f: PastaFeatures, info: NetInfo, pidFile: string): string[] {
  const args = [
    '--stderr',
    `--ns-ifname=${cfg.ifname}`,
    `--mtu=${cfg.mtu}`,
    '--config-net',
    `--address=${info.ip}`,
    `--netmask=${info.prefix}`,
    `--gateway=${info.gateway}`,
  ];
  if (f.dnsForward) args.push(`--dns-forward=${info.dns[0]}`);
  if (cfg.disableHostLoopback) {
    if (!f.noMapGw) throw new RkError('this pasta cannot disable the host loopback (no --no-map-gw): drop --disable-host-loopback or install a newer passt');
    args.push('--no-map-gw');
  }
  if (!cfg.ipv6) args.push('--ipv4-only');
  const implicit = cfg.portDriver === 'implicit';
  args.push(`--tcp-ports=${implicit ? 'auto' : 'none'}`, `--udp-ports=${implicit ? 'auto' : 'none'}`);
  // pasta's default also forwards the namespace's 127.0.0.1:PORT to the
  // host's ports (-T/-U auto): that is the host's loopback too, so
  // --disable-host-loopback turns it off. Not with implicit forwarding:
  // pasta (0.0~git20230309) then stops scanning the namespace's ports.
  if (cfg.disableHostLoopback && f.nsPorts && !implicit) args.push('--tcp-ns=none', '--udp-ns=none');
  if (f.hostLoToNsLo) args.push('--host-lo-to-ns-lo');
  args.push('--foreground', `--pid=${pidFile}`);
  if (t.detached) {
    if (t.userFd >= 0) args.push(`--userns=${t.usernsPath}`);
    args.push(`--netns=${t.netnsPath}`);
  } else {
    args.push(String(t.pid));
  }
  return args;
}

/** A FIFO for pasta's --pid: readable once pasta has configured the namespace. */
function readyFifo(t: NetTarget): { path: string; fd: number; remove(): void } {
  let dir: string | undefined;
  let path: string;
  if (t.stateDir) {
    path = join(t.stateDir, '.pasta.ready');
    rmSync(path, { force: true });
  } else {
    dir = mkdtempSync(join(process.env.XDG_RUNTIME_DIR || tmpdir(), 'rk-pasta-'));
    path = join(dir, 'ready');
  }
  try {
    mkfifo(path, 0o600);
    // Read-write: opening never blocks, and pasta's open for writing does not either.
    const fd = openSync(path, fsc.O_RDWR | fsc.O_NONBLOCK);
    return {
      path,
      fd,
      remove() {
        closeSync(fd);
        // The FIFO, then our own private dir if we made one: nothing is removed recursively.
        rmSync(path, { force: true });
        if (dir) rmdirSync(dir);
      },
    };
  } catch (e) {
    rmSync(path, { force: true });
    if (dir) rmdirSync(dir);
    throw new RkError(`cannot create pasta's ready FIFO ${path}: ${(e as Error).message}`);
  }
}

/** The first line pasta writes to the FIFO (its PID). */
function whenWritten(fd: number): Promise<string> {
  return new Promise((resolve) => {
    const attempt = () => {
      const buf = Buffer.alloc(32);
      try {
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n > 0) {
          resolve(buf.toString('latin1', 0, n).trim());
          return;
        }
      } catch {
        // EAGAIN: not yet
      }
      whenReadable(fd, attempt);
    };
    attempt();
  });
}

export const pasta: NetDriver = {
  name: 'pasta',
  defaultMtu: 65520,
  defaultIfname: 'tap0',
  async preflight(cfg) {
    const file = findBinary(cfg.pastaBinary, PKG, FLAG);
    check(await detectPastaFeatures(file), file);
  },
  async start(t: NetTarget, cfg: NetConfig, log: Logger): Promise<RunningNet> {
    const file = findBinary(cfg.pastaBinary, PKG, FLAG);
    const f = await detectPastaFeatures(file);
    log.debug(`pasta features ${JSON.stringify(f)}`);
    check(f, file);
    if (cfg.disableHostLoopback && cfg.portDriver === 'implicit') {
      log.warn("with --port-driver=implicit pasta still forwards the namespace's 127.0.0.1 ports to the host's (pasta's -T auto): --disable-host-loopback only closes the gateway");
    }
    const info: NetInfo = {
      driver: 'pasta',
      ifname: cfg.ifname,
      mtu: cfg.mtu,
      ip: addrAt(cfg.cidr, 100),
      prefix: cfg.cidr.prefix,
      gateway: addrAt(cfg.cidr, 2),
      dns: [addrAt(cfg.cidr, 3)],
      hostLoopback: !cfg.disableHostLoopback,
      sockets: {},
    };
    const launch = (target: NetTarget) => launchPasta(file, (fifo) => pastaArgs(target, cfg, f, info, fifo), target, log);
    const first = await launch(t);
    if (cfg.ipv6) {
      const v6 = ipv6FromOutput(first.helper.lastLines());
      if (v6) info.ipv6 = v6;
    }
    first.helper.forgetLines();
    // A restart: pasta joins the namespace again, makes the tap again and configures it (--config-net).
    return superviseOnTarget(t, { what: 'pasta', info, log, first, launch });
  },
};

/** Starts pasta on the target and waits until it has configured the namespace. */
async function launchPasta(file: string, argsFor: (fifo: string) => string[], t: NetTarget, log: Logger): Promise<Incarnation & { helper: Helper }> {
  const fifo = readyFifo(t);
  let helper: Helper | undefined;
  try {
    const args = argsFor(fifo.path);
    helper = await startHelper({ binary: file, args, pkg: PKG, flag: FLAG, log, prefix: '[rootlesskit:pasta]', ignoreLine: (l) => SYSLOG_NOISE.test(l) });
    log.debug(`started pasta ${args.join(' ')} (pid ${helper.pid})`);
    const ready = await Promise.race([whenWritten(fifo.fd), helper.exited.then(() => undefined)]);
    if (ready === undefined) throw new RkError(`pasta failed to start: ${helper.describeExit(await helper.exited)}`);
    log.debug(`pasta is ready (pid ${ready})`);
  } catch (e) {
    await helper?.kill();
    throw e;
  } finally {
    fifo.remove();
  }
  const h = helper;
  return { helper: h, pid: h.pid, died: h.exited.then((st) => h.howExited(st)), stop: () => h.kill() };
}

/**
 * pasta copies the host's IPv6 address and gateway; it prints them at start
 * ("NDP/DHCPv6:" then "assign: ADDR" and "router: ADDR" lines).
 */
export function ipv6FromOutput(lines: string[]): NetInfo['ipv6'] | undefined {
  const at = lines.findIndex((l) => /NDP|DHCPv6/.test(l));
  if (at < 0) return undefined;
  let ip: string | undefined;
  let gateway: string | undefined;
  for (const l of lines.slice(at + 1)) {
    const m = /^\s*(assign|router|our link-local):\s*(\S+)/.exec(l);
    if (!m) {
      if (/^\S/.test(l)) break;
      continue;
    }
    if (m[1] === 'assign') ip = m[2];
    if (m[1] === 'router') gateway = m[2];
  }
  return gateway ? { ip, prefix: 64, gateway } : undefined;
}
