// IPv4/IPv6 addresses as the drivers need them: CIDR parsing with upstream's
// refusals, "the Nth address of a network", and bytes for netlink.
import { isIP } from 'node:net';
import { RkError } from '@rk/cli';

export interface Cidr {
  network: string;
  prefix: number;
}

export const DEFAULT_CIDR: Cidr = { network: '10.0.2.0', prefix: 24 };

function v4ToInt(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function intToV4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** Parses "10.0.2.0/24"; it must be a network address (upstream's rule). IPv4 only, as upstream's drivers. */
export function parseCidr(text: string): Cidr {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(text);
  if (!m || isIP(m[1]!) !== 4 || Number(m[2]) > 32) {
    throw new RkError(`invalid --cidr ${JSON.stringify(text)}: expected an IPv4 network like 10.0.2.0/24`);
  }
  const prefix = Number(m[2]);
  if (prefix > 30) throw new RkError(`--cidr ${text} is too small: the network needs room for .2, .3 and .100 (use a prefix of /24 or shorter)`);
  const ip = v4ToInt(m[1]!);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  if (((ip & mask) >>> 0) !== ip) throw new RkError(`cidr must be like 10.0.2.0/24, not like ${text} (use --cidr=${intToV4((ip & mask) >>> 0)}/${prefix})`);
  return { network: m[1]!, prefix };
}

/** The address `offset` after the network address (e.g. 100 → 10.0.2.100). */
export function addrAt(cidr: Cidr, offset: number): string {
  const size = 2 ** (32 - cidr.prefix);
  if (offset >= size - 1) throw new RkError(`--cidr ${cidr.network}/${cidr.prefix} has no host .${offset}: use a /24 or larger network`);
  return intToV4(v4ToInt(cidr.network) + offset);
}

/** Network byte order bytes of an IPv4 or IPv6 address. */
export function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  if (isIP(ip) !== 6) throw new Error(`not an IP address: ${ip}`);
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const words = (s: string | undefined) => (s ? s.split(':').filter((w) => w !== '') : []);
  const h = words(head);
  const t = words(tail);
  const all = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  all.forEach((w, i) => b.writeUInt16BE(parseInt(w, 16), i * 2));
  return b;
}

export const AF_INET = 2;
export const AF_INET6 = 10;
export const familyOf = (ip: string) => (isIP(ip) === 6 ? AF_INET6 : AF_INET);
