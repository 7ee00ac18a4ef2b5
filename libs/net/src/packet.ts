// The few packets the drivers write or read themselves before a frame pump
// takes over (a DHCP exchange over vpnkit's or vde_plug's stream): Ethernet,
// IPv4 and UDP headers, and MAC addresses.
import { closeSync, openSync, readSync } from 'node:fs';

export const ETH_P_IP = 0x0800;
export const BROADCAST_MAC = Buffer.alloc(6, 0xff);

/** "aa:bb:cc:dd:ee:ff" */
export function macString(mac: Buffer): string {
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** n bytes from the kernel's CSPRNG (node:crypto would cost more to load than it saves). */
export function randomBytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  const fd = openSync('/dev/urandom', 'r');
  try {
    readSync(fd, b, 0, n, null);
  } finally {
    closeSync(fd);
  }
  return b;
}

/** A random locally administered unicast MAC address. */
export function randomMac(): Buffer {
  const mac = randomBytes(6);
  mac[0] = (mac[0]! & 0xfe) | 0x02;
  return mac;
}

/** The Internet checksum (RFC 1071) of buf. */
export function checksum(buf: Buffer, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2) sum += buf[buf.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface UdpPacket {
  srcMac: Buffer;
  dstMac: Buffer;
  srcIp: Buffer;
  dstIp: Buffer;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

/** An Ethernet frame carrying an IPv4 UDP datagram (checksums filled in). */
export function udpFrame(p: UdpPacket): Buffer {
  const udpLen = 8 + p.payload.length;
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + udpLen, 2);
  ip[8] = 64;
  ip[9] = 17;
  p.srcIp.copy(ip, 12);
  p.dstIp.copy(ip, 16);
  ip.writeUInt16BE(checksum(ip), 10);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(p.srcPort, 0);
  udp.writeUInt16BE(p.dstPort, 2);
  udp.writeUInt16BE(udpLen, 4);
  const pseudo = Buffer.concat([p.srcIp, p.dstIp, Buffer.from([0, 17, udpLen >> 8, udpLen & 0xff]), udp, p.payload]);
  udp.writeUInt16BE(checksum(pseudo) || 0xffff, 6);
  const eth = Buffer.alloc(14);
  p.dstMac.copy(eth, 0);
  p.srcMac.copy(eth, 6);
  eth.writeUInt16BE(ETH_P_IP, 12);
  return Buffer.concat([eth, ip, udp, p.payload]);
}

/** The UDP datagram in an Ethernet frame, or undefined when it is something else. */
export function parseUdpFrame(frame: Buffer): UdpPacket | undefined {
  if (frame.length < 14 + 20 + 8 || frame.readUInt16BE(12) !== ETH_P_IP) return undefined;
  const ip = frame.subarray(14);
  const ihl = (ip[0]! & 0x0f) * 4;
  if (ip[0]! >> 4 !== 4 || ihl < 20 || ip[9] !== 17 || ip.length < ihl + 8) return undefined;
  const total = Math.min(ip.readUInt16BE(2), ip.length);
  const udp = ip.subarray(ihl, total);
  const len = Math.min(udp.readUInt16BE(4), udp.length);
  return {
    dstMac: frame.subarray(0, 6),
    srcMac: frame.subarray(6, 12),
    srcIp: ip.subarray(12, 16),
    dstIp: ip.subarray(16, 20),
    srcPort: udp.readUInt16BE(0),
    dstPort: udp.readUInt16BE(2),
    payload: udp.subarray(8, len),
  };
}
