// DHCPv4 messages (RFC 2131/2132): what a client sends (DISCOVER, REQUEST)
// and what it reads back (OFFER, ACK, NAK). Used by lxc-user-nic (the whole
// exchange, from a UDP socket made inside the namespace) and by the stream
// drivers (vpnkit, vdeplug_slirp: one DISCOVER to learn the address and to
// see that the other side is up).
export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
const MAGIC = 0x63825363;

export const DhcpType = { Discover: 1, Offer: 2, Request: 3, Decline: 4, Ack: 5, Nak: 6, Release: 7 } as const;
const TYPE_NAMES: Record<number, string> = { 1: 'DISCOVER', 2: 'OFFER', 3: 'REQUEST', 4: 'DECLINE', 5: 'ACK', 6: 'NAK', 7: 'RELEASE' };

const OPT = { subnet: 1, router: 3, dns: 6, mtu: 26, requestedIp: 50, lease: 51, type: 53, serverId: 54, params: 55, message: 56, end: 255, pad: 0 };

export interface DhcpRequest {
  type: number;
  xid: number;
  mac: Buffer;
  /** ciaddr: our address when renewing. */
  ciaddr?: string;
  requestedIp?: string;
  serverId?: string;
  /** Ask the server to broadcast its answer (we have no address yet). */
  broadcast?: boolean;
}

export interface DhcpReply {
  op: number;
  type: number;
  typeName: string;
  xid: number;
  chaddr: Buffer;
  yiaddr: string;
  prefix?: number;
  routers: string[];
  dns: string[];
  mtu?: number;
  leaseSeconds?: number;
  serverId?: string;
  message?: string;
}

const v4 = (ip: string) => Buffer.from(ip.split('.').map(Number));
const ipAt = (b: Buffer, off: number) => [...b.subarray(off, off + 4)].join('.');

/** A BOOTREQUEST message (the UDP payload). */
export function buildDhcp(r: DhcpRequest): Buffer {
  const fixed = Buffer.alloc(240);
  fixed[0] = 1; // BOOTREQUEST
  fixed[1] = 1; // Ethernet
  fixed[2] = 6;
  fixed.writeUInt32BE(r.xid >>> 0, 4);
  if (r.broadcast) fixed.writeUInt16BE(0x8000, 10);
  if (r.ciaddr) v4(r.ciaddr).copy(fixed, 12);
  r.mac.copy(fixed, 28);
  fixed.writeUInt32BE(MAGIC, 236);
  const opts: number[] = [OPT.type, 1, r.type];
  if (r.requestedIp) opts.push(OPT.requestedIp, 4, ...v4(r.requestedIp));
  if (r.serverId) opts.push(OPT.serverId, 4, ...v4(r.serverId));
  opts.push(OPT.params, 5, OPT.subnet, OPT.router, OPT.dns, OPT.mtu, OPT.lease);
  opts.push(OPT.end);
  const msg = Buffer.concat([fixed, Buffer.from(opts)]);
  // Some servers ignore messages shorter than a BOOTP message (300 bytes).
  return msg.length < 300 ? Buffer.concat([msg, Buffer.alloc(300 - msg.length)]) : msg;
}

function prefixOf(mask: Buffer): number {
  let n = 0;
  for (const byte of mask) n += byte.toString(2).replace(/0/g, '').length;
  return n;
}

/** Parses a DHCP message; undefined when it is not one. */
export function parseDhcp(b: Buffer): DhcpReply | undefined {
  if (b.length < 240 || b.readUInt32BE(236) !== MAGIC) return undefined;
  const r: DhcpReply = {
    op: b[0]!,
    type: 0,
    typeName: '',
    xid: b.readUInt32BE(4),
    chaddr: b.subarray(28, 34),
    yiaddr: ipAt(b, 16),
    routers: [],
    dns: [],
  };
  let i = 240;
  while (i < b.length) {
    const code = b[i]!;
    if (code === OPT.end) break;
    if (code === OPT.pad) {
      i++;
      continue;
    }
    if (i + 1 >= b.length) break;
    const len = b[i + 1]!;
    const v = b.subarray(i + 2, i + 2 + len);
    if (v.length < len) break;
    const ips = () => Array.from({ length: Math.floor(len / 4) }, (_, k) => ipAt(v, k * 4));
    switch (code) {
      case OPT.type: r.type = v[0]!; break;
      case OPT.subnet: if (len === 4) r.prefix = prefixOf(v); break;
      case OPT.router: r.routers = ips(); break;
      case OPT.dns: r.dns = ips(); break;
      case OPT.mtu: if (len === 2) r.mtu = v.readUInt16BE(0); break;
      case OPT.lease: if (len === 4) r.leaseSeconds = v.readUInt32BE(0); break;
      case OPT.serverId: if (len === 4) r.serverId = ipAt(v, 0); break;
      case OPT.message: r.message = v.toString('latin1'); break;
      default: break;
    }
    i += 2 + len;
  }
  r.typeName = TYPE_NAMES[r.type] ?? `type ${r.type}`;
  return r;
}

/** A transaction ID from 4 random bytes. */
export function newXid(random: Buffer): number {
  return random.readUInt32BE(0);
}
