// --net=builtin: our embedded userspace NAT. The tap is opened inside the
// namespace (by a helper that entered it; IFF_VNET_HDR so the namespace hands
// over 64 KiB TCP frames even at MTU 1500) and served by libslirp in
// rk-nat-engine, a sandboxed process of ours (nat-engine.ts): no packet
// through JavaScript, and a crash of the engine costs the open flows only —
// a new engine takes over the same tap (supervise.ts).
// --net=gvisor-tap-vsock (upstream v3's embedded stack) is the same engine
// with that driver's addresses: gateway and DNS at .1.
import { closeSync } from 'node:fs';
import { RkError, type Logger } from '@rk/cli';
import type { SlirpOptions } from '@rk/native';
import { addrAt } from '../addr.js';
import { configureInterface, runOps } from '../configure.js';
import { engineDnsUpstream, startNatEngine, type NatEngine } from '../nat-engine.js';
import { supervise, type Incarnation } from '../supervise.js';
import type { NetConfig, NetDriver, NetInfo, NetTarget, RunningNet } from '../types.js';

const IFF_VNET_HDR = 0x4000;

function incarnation(e: NatEngine): Incarnation {
  return { pid: e.pid, died: e.died, stop: () => e.stop() };
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
      const opts: SlirpOptions = {
        mtu: cfg.mtu,
        vnetHdr: true,
        network: cfg.cidr.network,
        prefix: cfg.cidr.prefix,
        guest: info.ip,
        host: info.gateway,
        dns: info.dns[0],
        disableHostLoopback: cfg.disableHostLoopback,
        ipv6: cfg.ipv6,
        // RK_NAT_UDP_FAST=0: every UDP datagram through libslirp (benchmarks compare the two).
        udpFastPath: process.env.RK_NAT_UDP_FAST !== '0',
        // RK_NAT_TUNNEL_GSO=0: VXLAN/Geneve frames reach the engine cut up by the kernel (benchmarks compare the two).
        tunnelGso: process.env.RK_NAT_TUNNEL_GSO !== '0',
      };
      const upstream = engineDnsUpstream(cfg.dnsUpstream, log);
      if (upstream) opts.dnsUpstream = upstream;
      let first: NatEngine;
      try {
        first = await startNatEngine(tapFd, opts, log);
      } catch (e) {
        closeSync(tapFd);
        if (e instanceof RkError) throw e;
        throw new RkError(`cannot start the builtin network engine: ${(e as Error).message}`);
      }
      log.debug(`${name}: engine ${first.pid} serving ${cfg.ifname} (mtu ${cfg.mtu}, gateway ${info.gateway}, dns ${info.dns[0]}${upstream ? ` -> ${upstream}` : ''})`);
      try {
        configureInterface(t, info);
      } catch (e) {
        await first.stop();
        closeSync(tapFd);
        throw e;
      }
      // Our copy of the tap keeps the device (and what the namespace set on
      // it) while an engine is replaced.
      return supervise({
        what: 'the builtin network engine',
        info,
        log,
        first: incarnation(first),
        restart: async () => incarnation(await startNatEngine(tapFd, opts, log)),
        release: () => closeSync(tapFd),
      });
    },
  };
}

export const builtin = engine('builtin', 2, 3);
export const gvisorTapVsock = engine('gvisor-tap-vsock', 1, 1);
