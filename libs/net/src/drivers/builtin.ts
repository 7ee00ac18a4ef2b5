// --net=builtin: our embedded userspace NAT. The tap is opened inside the
// namespace (by a helper that entered it; IFF_VNET_HDR so the namespace hands
// over 64 KiB TCP frames even at MTU 1500) and served by libslirp on a native
// thread of this process: no extra binary, no packet through JavaScript.
// --net=gvisor-tap-vsock (upstream v3's embedded stack) is the same engine
// with that driver's addresses: gateway and DNS at .1.
import { closeSync } from 'node:fs';
import { RkError, type Logger } from '@rk/cli';
import { slirpStart, slirpStop, type SlirpExit } from '@rk/native';
import { addrAt } from '../addr.js';
import { configureInterface, runOps } from '../configure.js';
import type { NetConfig, NetDriver, NetInfo, NetTarget, RunningNet } from '../types.js';

const IFF_VNET_HDR = 0x4000;

function describeExit(e: SlirpExit): string {
  if (e.reason === 'exited') return 'the namespace\'s process exited';
  if (e.reason === 'tap-gone') return 'its tap device went away';
  return `engine error: ${e.error.message}`;
}

function engine(name: string, gatewayOffset: number, dnsOffset: number): NetDriver {
  return {
    name,
    defaultMtu: 65520,
    defaultIfname: 'tap0',
    async start(t: NetTarget, cfg: NetConfig, log: Logger): Promise<RunningNet> {
      const info: NetInfo = {
        driver: name,
        ifname: cfg.ifname,
        mtu: cfg.mtu,
        ip: addrAt(cfg.cidr, 100),
        prefix: cfg.cidr.prefix,
        gateway: addrAt(cfg.cidr, gatewayOffset),
        dns: [addrAt(cfg.cidr, dnsOffset), ...(cfg.ipv6 ? ['fd00::3'] : [])],
        hostLoopback: !cfg.disableHostLoopback,
        sockets: {},
        ...(cfg.ipv6 ? { ipv6: { ip: 'fd00::100', prefix: 64, gateway: 'fd00::2' } } : {}),
      };
      const [tapFd] = runOps(t, [
        { op: 'tap', name: cfg.ifname, flags: IFF_VNET_HDR },
        ...(cfg.ipv6 ? [{ op: 'write' as const, path: `/proc/sys/net/ipv6/conf/${cfg.ifname}/accept_dad`, data: '0' }] : []),
      ], `create ${cfg.ifname}`) as [number];
      let onEnd!: (why: string) => void;
      const ended = new Promise<string>((resolve) => (onEnd = resolve));
      let handle;
      try {
        handle = slirpStart(
          {
            tapFd,
            mtu: cfg.mtu,
            vnetHdr: true,
            network: cfg.cidr.network,
            prefix: cfg.cidr.prefix,
            guest: info.ip,
            host: info.gateway,
            dns: info.dns[0],
            disableHostLoopback: cfg.disableHostLoopback,
            ipv6: cfg.ipv6,
            ...(cfg.dnsUpstream ? { dnsUpstream: cfg.dnsUpstream } : {}),
          },
          (e) => onEnd(describeExit(e)),
        );
      } catch (e) {
        closeSync(tapFd);
        throw new RkError(`cannot start the builtin network engine: ${(e as Error).message}`);
      }
      log.debug(`${name}: engine serving ${cfg.ifname} (mtu ${cfg.mtu}, gateway ${info.gateway}, dns ${info.dns[0]})`);
      const h = handle;
      try {
        configureInterface(t, info);
      } catch (e) {
        slirpStop(h);
        throw e;
      }
      let stopped = false;
      return {
        info,
        ended,
        async stop() {
          if (stopped) return;
          stopped = true;
          slirpStop(h);
          onEnd('stopped');
        },
      };
    },
  };
}

export const builtin = engine('builtin', 2, 3);
export const gvisorTapVsock = engine('gvisor-tap-vsock', 1, 1);
