// --net=lxc-user-nic: kernel NAT through a bridge that root set up. LXC's
// setuid helper creates a veth pair: one end on the bridge (e.g. lxcbr0),
// the other moved into the namespace as eth0 (`lxc-user-nic create /dev/null
// dummy PID veth BRIDGE eth0`, as upstream runs it); /etc/lxc/lxc-usernet
// must allow the user a veth on that bridge. The address comes from the
// bridge's DHCP server, as upstream: we do the exchange ourselves from a UDP
// socket made inside the namespace (dhcp-client.ts), so no DHCP client
// process runs in there, and renew the lease while we run.
import { closeSync, existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { RkError, type Logger } from '@rk/cli';
import { bindUdpToDevice, ifMac } from '@rk/native';
import { AF_INET } from '../addr.js';
import { configureInterface, runOps } from '../configure.js';
import { DhcpClient, type Lease } from '../dhcp-client.js';
import { LXC_USER_NIC_PATHS } from '../flags.js';
import { findBinary, startHelper, type Helper } from '../helper.js';
import { macString } from '../packet.js';
import type { NetConfig, NetDriver, NetInfo, NetTarget, RunningNet } from '../types.js';

const SOCK_DGRAM = 2;
const DHCP_TIMEOUT_MS = 30_000;
const USERNET = '/etc/lxc/lxc-usernet';

/** The flag's path; with the default, Debian's path when upstream's is missing. */
export function lxcUserNicBinary(cfg: NetConfig): string {
  const given = cfg.lxcUserNic.binary;
  if (given === LXC_USER_NIC_PATHS[0] && !existsSync(given)) {
    const found = LXC_USER_NIC_PATHS.find((p) => existsSync(p));
    if (!found) throw new RkError(`lxc-user-nic not found at ${LXC_USER_NIC_PATHS.join(' or ')}: sudo apt-get install lxc (or pass --lxc-user-nic-binary=PATH)`);
    return found;
  }
  return findBinary(given, 'lxc', '--lxc-user-nic-binary');
}

/**
 * lxc-user-nic takes a PID. With --detach-netns no process is in the
 * namespace, so one is made for the call (as upstream): nsenter into it,
 * holding until lxc-user-nic is done.
 */
async function holderIn(t: NetTarget, log: Logger): Promise<{ pid: number; helper?: Helper }> {
  if (!t.detached) return { pid: t.pid };
  const nsenter = findBinary('nsenter', 'util-linux');
  let entered: () => void = () => {};
  const ready = new Promise<void>((resolve) => (entered = resolve));
  const args = ['--preserve-credentials', ...(t.userFd >= 0 ? [`--user=${t.usernsPath}`] : []), `--net=${t.netnsPath}`, '--', 'sh', '-c', 'echo entered; exec sleep infinity'];
  const helper = await startHelper({ binary: nsenter, args, pkg: 'util-linux', log, prefix: '[rootlesskit:nsenter]', onLine: (l) => l === 'entered' && entered() });
  const ok = await Promise.race([ready.then(() => true), helper.exited.then(() => false)]);
  if (!ok) throw new RkError(`cannot hold the detached network namespace for lxc-user-nic: ${helper.describeExit(await helper.exited)}`);
  return { pid: helper.pid, helper };
}

async function createNic(binary: string, t: NetTarget, cfg: NetConfig, log: Logger): Promise<void> {
  const holder = await holderIn(t, log);
  try {
    const args = ['create', '/dev/null', 'dummy', String(holder.pid), 'veth', cfg.lxcUserNic.bridge, cfg.ifname];
    const h = await startHelper({ binary, args, pkg: 'lxc', flag: '--lxc-user-nic-binary', log, prefix: '[rootlesskit:lxc-user-nic]' });
    log.debug(`started lxc-user-nic ${args.join(' ')} (pid ${h.pid})`);
    const st = await h.exited;
    if (st.code !== 0 || st.signal) {
      const out = h.lastLines().join('\n');
      const hint = /quota|not allowed|usernet|No such file|permission/i.test(out)
        ? ` (root must allow it: a line "${userInfo().username} veth ${cfg.lxcUserNic.bridge} 10" in ${USERNET}, and the bridge must exist)`
        : '';
      throw new RkError(`lxc-user-nic failed: ${h.describeExit(st)}${hint}`);
    }
  } finally {
    await holder.helper?.kill();
  }
}

export const lxcUserNic: NetDriver = {
  name: 'lxc-user-nic',
  defaultMtu: 1500,
  defaultIfname: 'eth0',
  async preflight(cfg) {
    lxcUserNicBinary(cfg);
  },
  async start(t: NetTarget, cfg: NetConfig, log: Logger): Promise<RunningNet> {
    const binary = lxcUserNicBinary(cfg);
    await createNic(binary, t, cfg, log);
    runOps(t, [{ op: 'link', name: 'lo', up: true }, { op: 'link', name: cfg.ifname, mtu: cfg.mtu, up: true }], `bring ${cfg.ifname} up`);
    const [fd] = runOps(t, [{ op: 'socket', family: AF_INET, type: SOCK_DGRAM }], 'make the DHCP socket') as [number];
    let mac: Buffer;
    try {
      bindUdpToDevice(fd, cfg.ifname, 68);
      mac = ifMac(fd, cfg.ifname);
    } catch (e) {
      closeSync(fd);
      throw new RkError(`cannot set up DHCP on ${cfg.ifname}: ${(e as Error).message}`);
    }
    const client = new DhcpClient(fd, mac);
    log.debug(`exchanging DHCP messages on ${cfg.ifname} (${macString(mac)})`);
    let lease: Lease;
    try {
      lease = await client.acquire(DHCP_TIMEOUT_MS);
    } catch (e) {
      client.close();
      throw new RkError(`lxc-user-nic: could not get an address by DHCP on ${cfg.ifname} (bridge ${cfg.lxcUserNic.bridge}): ${(e as Error).message}`);
    }
    log.debug(`DHCP lease ${lease.ip}/${lease.prefix} via ${lease.gateway}, DNS ${lease.dns.join(',')}, ${lease.leaseSeconds ?? '?'} s`);
    const info: NetInfo = {
      driver: 'lxc-user-nic',
      ifname: cfg.ifname,
      mtu: cfg.mtu,
      ip: lease.ip,
      prefix: lease.prefix,
      gateway: lease.gateway,
      dns: lease.dns,
      hostLoopback: false,
      sockets: {},
    };
    try {
      configureInterface(t, info);
    } catch (e) {
      client.close();
      throw e;
    }
    // Renew at 90% of the lease, as upstream; losing the address ends the driver.
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let fail: (why: string) => void = () => {};
    const ended = new Promise<string>((resolve) => (fail = resolve));
    const schedule = (l: Lease) => {
      if (!l.leaseSeconds || l.leaseSeconds >= 0xffffffff) return;
      timer = setTimeout(() => {
        client.renew(l, DHCP_TIMEOUT_MS).then(
          (next) => {
            if (stopped) return;
            if (next.ip !== l.ip) fail(`the DHCP server moved us from ${l.ip} to ${next.ip}`);
            else {
              log.debug(`DHCP lease of ${next.ip} renewed for ${next.leaseSeconds ?? '?'} s`);
              schedule(next);
            }
          },
          (e: Error) => !stopped && fail(`DHCP renewal of ${l.ip} failed: ${e.message}`),
        );
      }, l.leaseSeconds * 900);
      timer.unref();
    };
    schedule(lease);
    // No helper runs to restart: a lost lease ends the driver (the caller says so; CMD keeps running).
    return {
      info,
      ended: ended.then((why) => (stopped ? 'stopped' : why)),
      async stop() {
        stopped = true;
        clearTimeout(timer);
        fail('stopped');
        client.close();
      },
    };
  },
};
