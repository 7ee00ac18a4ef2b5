// A DHCPv4 client on a UDP socket made inside the namespace (nsRun) and
// bound there to the interface and port 68: no DHCP client process runs in
// the namespace. Our process owns the namespace's user namespace, so it may
// bind port 68 and set SO_BINDTODEVICE there. Answers are asked for by
// broadcast (we have no address yet); messages are re-sent every second.
import { createSocket, type Socket } from 'node:dgram';
import { buildDhcp, DHCP_SERVER_PORT, DhcpType, parseDhcp, type DhcpReply } from './dhcp.js';
import { randomBytes } from './packet.js';

export interface Lease {
  ip: string;
  prefix: number;
  gateway: string;
  dns: string[];
  serverId?: string;
  leaseSeconds?: number;
  mtu?: number;
}

export class DhcpClient {
  private readonly sock: Socket;
  private readonly ready: Promise<void>;

  /** fd: a UDP socket already bound to the interface and port 68 (bindUdpToDevice); owned from now on. */
  constructor(fd: number, private readonly mac: Buffer) {
    this.sock = createSocket('udp4');
    this.ready = new Promise((resolve, reject) => {
      this.sock.once('error', reject);
      this.sock.bind({ fd } as never, () => {
        this.sock.removeListener('error', reject);
        this.sock.setBroadcast(true);
        resolve();
      });
    });
    this.sock.on('error', () => {});
  }

  /** DISCOVER, OFFER, REQUEST, ACK. */
  async acquire(timeoutMs: number): Promise<Lease> {
    await this.ready;
    const xid = randomBytes(4).readUInt32BE(0);
    const offer = await this.exchange(buildDhcp({ type: DhcpType.Discover, xid, mac: this.mac, broadcast: true }), xid, [DhcpType.Offer], timeoutMs);
    const ack = await this.exchange(
      buildDhcp({ type: DhcpType.Request, xid, mac: this.mac, broadcast: true, requestedIp: offer.yiaddr, serverId: offer.serverId }),
      xid,
      [DhcpType.Ack, DhcpType.Nak],
      timeoutMs,
    );
    return toLease(ack);
  }

  /** A REQUEST for the address we hold (RFC 2131 renewing). */
  async renew(lease: Lease, timeoutMs: number): Promise<Lease> {
    await this.ready;
    const xid = randomBytes(4).readUInt32BE(0);
    const ack = await this.exchange(buildDhcp({ type: DhcpType.Request, xid, mac: this.mac, ciaddr: lease.ip, broadcast: true }), xid, [DhcpType.Ack, DhcpType.Nak], timeoutMs);
    return toLease(ack);
  }

  close(): void {
    try {
      this.sock.close();
    } catch {
      // already closed
    }
  }

  private exchange(msg: Buffer, xid: number, want: number[], timeoutMs: number): Promise<DhcpReply> {
    return new Promise((resolve, reject) => {
      const send = () => this.sock.send(msg, DHCP_SERVER_PORT, '255.255.255.255');
      const onMessage = (b: Buffer) => {
        const r = parseDhcp(b);
        if (!r || r.op !== 2 || r.xid !== xid || !want.includes(r.type)) return;
        done();
        resolve(r);
      };
      const resend = setInterval(send, 1000);
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no DHCP answer within ${timeoutMs / 1000} s (is a DHCP server running on the bridge?)`));
      }, timeoutMs);
      const done = () => {
        clearInterval(resend);
        clearTimeout(timer);
        this.sock.removeListener('message', onMessage);
      };
      this.sock.on('message', onMessage);
      send();
    });
  }
}

function toLease(r: DhcpReply): Lease {
  if (r.type === DhcpType.Nak) throw new Error(`the DHCP server refused the request (NAK${r.message ? `: ${r.message}` : ''})`);
  // Upstream's checks.
  if (r.yiaddr === '0.0.0.0') throw new Error('the DHCP server gave no address');
  if (r.routers.length === 0) throw new Error('the DHCP server gave no router');
  if (r.dns.length === 0) throw new Error('the DHCP server gave no DNS server');
  return { ip: r.yiaddr, prefix: r.prefix ?? 24, gateway: r.routers[0]!, dns: [r.dns[0]!], serverId: r.serverId, leaseSeconds: r.leaseSeconds, mtu: r.mtu };
}
