// --net=slirp4netns: Debian's slirp4netns creates the tap inside the
// namespace and runs the NAT; we wait for its ready fd, then configure the
// interface natively. Flags and refusals as upstream (feature detection from
// `slirp4netns --help`, sandbox and seccomp auto|true|false).
import { closeSync, readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { RkError, type Logger } from '@rk/cli';
import { makePipe, runProgram } from '@rk/native';
import { addrAt } from '../addr.js';
import { configureInterface } from '../configure.js';
import { findBinary, startHelper } from '../helper.js';
import { superviseOnTarget, type Incarnation } from '../supervise.js';
import type { NetConfig, NetDriver, NetInfo, NetTarget, RunningNet } from '../types.js';

export const SLIRP4NETNS_API_SOCKET = '.s4nn.sock';

interface Features {
  ipv6: boolean;
  cidr: boolean;
  disableHostLoopback: boolean;
  apiSocket: boolean;
  sandbox: boolean;
  seccomp: boolean;
}

async function detectFeatures(file: string): Promise<Features> {
  const r = await runProgram(file, [file, '--help']);
  if (r.error || r.code !== 0) {
    throw new RkError(`"${file} --help" failed (${r.error?.code ?? `status ${r.code}`}): make sure slirp4netns v0.4.0 or later is installed (sudo apt-get install slirp4netns)`);
  }
  const s = r.output;
  if (!s.includes('--netns-type')) throw new RkError(`${file} seems older than v0.4.0: install a newer slirp4netns`);
  return {
    ipv6: s.includes('--enable-ipv6'),
    cidr: s.includes('--cidr'),
    disableHostLoopback: s.includes('--disable-host-loopback'),
    apiSocket: s.includes('--api-socket'),
    sandbox: s.includes('--enable-sandbox'),
    seccomp: s.includes('--enable-seccomp'),
  };
}

/** Whether the kernel has seccomp filters (what slirp4netns --enable-seccomp needs). */
function kernelHasSeccomp(): boolean {
  try {
    return /^Seccomp:/m.test(readFileSync('/proc/self/status', 'utf8'));
  } catch {
    return false;
  }
}

function choose(cfg: NetConfig, f: Features): { sandbox: boolean; seccomp: boolean } {
  const s = cfg.slirp4netns;
  let sandbox = false;
  if (s.sandbox === 'auto') sandbox = f.sandbox && !cfg.detachNetns;
  else if (s.sandbox === 'true') {
    if (!f.sandbox) throw new RkError('this slirp4netns does not support --enable-sandbox: use --slirp4netns-sandbox=auto');
    sandbox = true;
  }
  let seccomp = false;
  if (s.seccomp === 'auto') seccomp = f.seccomp && kernelHasSeccomp();
  else if (s.seccomp === 'true') {
    if (!f.seccomp) throw new RkError('this slirp4netns does not support --enable-seccomp: use --slirp4netns-seccomp=auto');
    if (!kernelHasSeccomp()) throw new RkError('the kernel does not support seccomp: use --slirp4netns-seccomp=auto');
    seccomp = true;
  }
  return { sandbox, seccomp };
}

export function slirpAddresses(cfg: NetConfig, driver: string): NetInfo {
  return {
    driver,
    ifname: cfg.ifname,
    mtu: cfg.mtu,
    ip: addrAt(cfg.cidr, 100),
    prefix: cfg.cidr.prefix,
    gateway: addrAt(cfg.cidr, 2),
    dns: [addrAt(cfg.cidr, 3), ...(cfg.ipv6 ? ['fd00::3'] : [])],
    hostLoopback: !cfg.disableHostLoopback,
    sockets: {},
  };
}

export const slirp4netns: NetDriver = {
  name: 'slirp4netns',
  defaultMtu: 65520,
  defaultIfname: 'tap0',
  async preflight(cfg) {
    const file = findBinary(cfg.slirp4netns.binary, 'slirp4netns', '--slirp4netns-binary');
    choose(cfg, await detectFeatures(file));
  },
  async start(t: NetTarget, cfg: NetConfig, log: Logger): Promise<RunningNet> {
    const file = findBinary(cfg.slirp4netns.binary, 'slirp4netns', '--slirp4netns-binary');
    const f = await detectFeatures(file);
    log.debug(`slirp4netns features ${JSON.stringify(f)}`);
    const { sandbox, seccomp } = choose(cfg, f);
    if (cfg.ipv6 && !f.ipv6) throw new RkError('this slirp4netns does not support --enable-ipv6: drop --ipv6');
    const info = slirpAddresses(cfg, 'slirp4netns');
    const args = ['--mtu', String(cfg.mtu), '-r', '3'];
    if (cfg.disableHostLoopback) args.push('--disable-host-loopback');
    if (cfg.cidr.network !== '10.0.2.0' || cfg.cidr.prefix !== 24) args.push('--cidr', `${cfg.cidr.network}/${cfg.cidr.prefix}`);
    if (t.stateDir && f.apiSocket) {
      info.sockets.slirp4netnsApi = join(t.stateDir, SLIRP4NETNS_API_SOCKET);
      args.push('--api-socket', info.sockets.slirp4netnsApi);
    }
    if (sandbox) args.push('--enable-sandbox');
    if (seccomp) args.push('--enable-seccomp');
    if (cfg.ipv6) args.push('--enable-ipv6');
    if (t.detached) {
      if (t.userFd >= 0) args.push(`--userns-path=${t.usernsPath}`);
      args.push('--netns-type=path', t.netnsPath);
    } else {
      args.push(String(t.pid));
    }
    args.push(cfg.ifname);

    const launch = (target: NetTarget) => launchSlirp4netns(file, args, target, info, log);
    const first = await launch(t);
    return superviseOnTarget(t, {
      what: 'slirp4netns',
      info,
      log,
      first,
      launch,
      // Same tap name, same --api-socket path: the dead one's socket file is stale.
      beforeRestart: (held) => {
        if (info.sockets.slirp4netnsApi) held.files?.remove(SLIRP4NETNS_API_SOCKET);
      },
    });
  },
};

/** Starts slirp4netns on the target, waits for its ready fd, configures the tap it made. */
async function launchSlirp4netns(file: string, args: string[], t: NetTarget, info: NetInfo, log: Logger): Promise<Incarnation> {
  const [readyR, readyW] = makePipe();
  let helper;
  try {
    helper = await startHelper({ binary: file, args, pkg: 'slirp4netns', flag: '--slirp4netns-binary', extraFds: [readyW], log, prefix: '[rootlesskit:slirp4netns]' });
  } finally {
    closeSync(readyW);
  }
  log.debug(`started slirp4netns ${args.join(' ')} (pid ${helper.pid})`);
  const ready = new Socket({ fd: readyR, readable: true, writable: false });
  const ok = await new Promise<boolean>((resolve) => {
    ready.once('data', () => resolve(true));
    ready.once('end', () => resolve(false));
    ready.once('error', () => resolve(false));
  });
  ready.destroy();
  if (!ok) {
    const st = await helper.exited;
    throw new RkError(`slirp4netns failed to start: ${helper.describeExit(st)}`);
  }
  try {
    configureInterface(t, info);
  } catch (e) {
    await helper.kill();
    throw e;
  }
  const h = helper;
  return { pid: h.pid, died: h.exited.then((st) => h.howExited(st)), stop: () => h.kill() };
}
