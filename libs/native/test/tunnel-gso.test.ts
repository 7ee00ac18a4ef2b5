// The NAT engine's UDP tunnel GSO splitter on its own (src/nat/tunnel_gso.h),
// through the test-only probe: VXLAN frames carrying one TCP super-segment,
// as the tap hands them over with TUN_F_UDP_TUNNEL_GSO, are cut into the
// datagrams the kernel would have sent (lengths, ids, sequence numbers, flags,
// checksums, the payload in order); malformed or unexpected headers, every
// truncation and a bounded mutation run are refused or split without harm.
import t, { type Test } from 'tap';
import { tunnelGsoProbe } from '../src/index.js';

const TCP = 6, UDP = 17;
const TCP4 = 1, TCP6 = 4, UDP_L4 = 5, TNL4 = 0x20, TNL6 = 0x40;
const FIN = 0x01, PSH = 0x08, ACK = 0x10, CWR = 0x80;

function sum16(b: Buffer, s = 0): number {
  for (let i = 0; i + 1 < b.length; i += 2) s += b.readUInt16BE(i);
  if (b.length & 1) s += b[b.length - 1]! << 8;
  return s;
}
function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}
/** True when the checksum over data (with its field in place) plus the pseudo-header sum adds up. */
const sumsUp = (data: Buffer, pseudo = 0) => fold(sum16(data, pseudo)) === 0xffff;

function pseudo(ip: Buffer, v6: boolean, proto: number, len: number): number {
  return v6 ? sum16(ip.subarray(8, 40)) + proto + (len >>> 16) + (len & 0xffff) : sum16(ip.subarray(12, 20)) + proto + len;
}

function ipHeader(v6: boolean, proto: number, payloadLen: number, id: number): Buffer {
  if (v6) {
    const h = Buffer.alloc(40);
    h[0] = 0x60;
    h.writeUInt16BE(payloadLen, 4);
    h[6] = proto;
    h[7] = 64;
    h.writeUInt16BE(0xfd00, 8);
    h[23] = 1;
    h.writeUInt16BE(0xfd00, 24);
    h[39] = 2;
    return h;
  }
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payloadLen, 2);
  h.writeUInt16BE(id, 4);
  h[6] = 0x40; // DF
  h[8] = 64;
  h[9] = proto;
  Buffer.from([10, 0, 0, 1, 10, 0, 0, 2]).copy(h, 12);
  return h;
}

interface Build {
  outer6?: boolean;
  inner6?: boolean;
  payload?: number;
  mss?: number;
  tcpOptions?: number; // bytes, a multiple of 4
  flags?: number;
  seq?: number;
}

/** A VXLAN super-frame and its 24-byte header, as the tap gives them. */
function superFrame(o: Build = {}): { hdr: Buffer; frame: Buffer; payload: Buffer; layout: { outerTh: number; innerNh: number; innerTh: number } } {
  const outer6 = !!o.outer6, inner6 = !!o.inner6;
  const payload = Buffer.alloc(o.payload ?? 20000);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + (i >> 8)) & 0xff;
  const tcp = Buffer.alloc(20 + (o.tcpOptions ?? 0));
  tcp.writeUInt16BE(40000, 0);
  tcp.writeUInt16BE(5201, 2);
  tcp.writeUInt32BE(o.seq ?? 0xfffff000, 4); // wraps within the frame
  tcp.writeUInt32BE(12345, 8);
  tcp[12] = (tcp.length / 4) << 4;
  tcp[13] = o.flags ?? ACK | PSH;
  tcp.writeUInt16BE(65535, 14);
  for (let i = 20; i < tcp.length; i++) tcp[i] = 1; // NOPs
  const innerIp = ipHeader(inner6, TCP, tcp.length + payload.length, 0x1000);
  const innerEth = Buffer.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, inner6 ? 0x86 : 0x08, inner6 ? 0xdd : 0x00]);
  const vxlan = Buffer.from([0x08, 0, 0, 0, 0, 0, 42, 0]);
  const udpLen = 8 + vxlan.length + innerEth.length + innerIp.length + tcp.length + payload.length;
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(50123, 0);
  udp.writeUInt16BE(4789, 2);
  udp.writeUInt16BE(udpLen & 0xffff, 4);
  const outerIp = ipHeader(outer6, UDP, udpLen, 0x2000);
  const eth = Buffer.from([2, 0, 0, 0, 1, 2, 2, 0, 0, 0, 1, 1, outer6 ? 0x86 : 0x08, outer6 ? 0xdd : 0x00]);
  const frame = Buffer.concat([eth, outerIp, udp, vxlan, innerEth, innerIp, tcp, payload]);
  const outerTh = 14 + outerIp.length;
  const innerNh = outerTh + 8 + 8 + 14;
  const innerTh = innerNh + innerIp.length;
  const hdr = Buffer.alloc(24);
  hdr[0] = 1 | 8; // NEEDS_CSUM | UDP_TUNNEL_CSUM
  hdr[1] = (inner6 ? TCP6 : TCP4) | (outer6 ? TNL6 : TNL4);
  hdr.writeUInt16LE(innerTh + tcp.length, 2);
  hdr.writeUInt16LE(o.mss ?? 1398, 4);
  hdr.writeUInt16LE(innerTh, 6);
  hdr.writeUInt16LE(16, 8);
  hdr.writeUInt16LE(outerTh, 20);
  hdr.writeUInt16LE(innerNh, 22);
  return { hdr, frame, payload, layout: { outerTh, innerNh, innerTh } };
}

/** Checks each segment as a receiver would; returns the payload they carry, in order. */
function checkSegments(t: Test, segs: Buffer[], o: Build, layout: { outerTh: number; innerNh: number; innerTh: number }): Buffer {
  const outer6 = !!o.outer6, inner6 = !!o.inner6;
  const mss = o.mss ?? 1398;
  const flags = o.flags ?? ACK | PSH;
  const thLen = 20 + (o.tcpOptions ?? 0);
  const hdrs = layout.innerTh + thLen;
  const parts: Buffer[] = [];
  let bad = 0;
  const fail = (k: number, what: string) => {
    if (bad++ < 5) t.fail(`segment ${k}: ${what}`);
  };
  segs.forEach((s, k) => {
    const last = k === segs.length - 1;
    const oip = s.subarray(14, layout.outerTh);
    if (outer6) {
      if (oip.readUInt16BE(4) !== s.length - 54) fail(k, 'outer IPv6 payload length');
    } else {
      if (oip.readUInt16BE(2) !== s.length - 14) fail(k, 'outer IPv4 total length');
      if (oip.readUInt16BE(4) !== 0x2000 + k) fail(k, 'outer IPv4 id');
      if (!sumsUp(oip)) fail(k, 'outer IPv4 checksum');
    }
    const udp = s.subarray(layout.outerTh);
    if (udp.readUInt16BE(4) !== udp.length) fail(k, 'UDP length');
    if (outer6) {
      if (!sumsUp(udp, pseudo(oip, true, UDP, udp.length))) fail(k, 'outer UDP checksum (IPv6: required)');
    } else if (udp.readUInt16BE(6) !== 0) fail(k, 'outer UDP checksum not 0 over IPv4');
    const iip = s.subarray(layout.innerNh, layout.innerTh);
    if (inner6) {
      if (iip.readUInt16BE(4) !== s.length - layout.innerTh) fail(k, 'inner IPv6 payload length');
    } else {
      if (iip.readUInt16BE(2) !== s.length - layout.innerNh) fail(k, 'inner IPv4 total length');
      if (iip.readUInt16BE(4) !== ((0x1000 + k) & 0xffff)) fail(k, 'inner IPv4 id');
      if (!sumsUp(iip)) fail(k, 'inner IPv4 checksum');
    }
    const tcp = s.subarray(layout.innerTh);
    if (!sumsUp(tcp, pseudo(iip, inner6, TCP, tcp.length))) fail(k, 'TCP checksum');
    if (tcp.readUInt32BE(4) !== (((o.seq ?? 0xfffff000) + k * mss) >>> 0)) fail(k, 'TCP sequence number');
    let want = flags;
    if (!last) want &= ~(FIN | PSH);
    if (k !== 0) want &= ~CWR;
    if (tcp[13] !== want) fail(k, `TCP flags ${tcp[13]} (want ${want})`);
    if (!last && s.length - hdrs !== mss) fail(k, `payload ${s.length - hdrs}, not the mss`);
    parts.push(s.subarray(hdrs));
  });
  t.equal(bad, 0, 'every segment is what the kernel would have sent');
  return Buffer.concat(parts);
}

const shapes: Array<[string, Build]> = [
  ['IPv4 in IPv4, payload not a multiple of the MSS', {}],
  ['IPv6 in IPv4', { inner6: true, mss: 1378 }],
  ['IPv4 in IPv6 (the outer UDP checksum computed)', { outer6: true }],
  ['IPv6 in IPv6, TCP options, FIN and CWR', { outer6: true, inner6: true, tcpOptions: 12, flags: ACK | PSH | FIN | CWR, mss: 1366 }],
  ['a full 64 KiB super-segment', { payload: 65535 - 14 - 20 - 8 - 8 - 14 - 20 - 20 - 100, mss: 1398 }],
  ['one segment only', { payload: 500 }],
  ['payload an exact multiple of the MSS', { payload: 1398 * 10 }],
];

for (const [name, o] of shapes) {
  t.test(`split: ${name}`, async (t) => {
    const { hdr, frame, payload, layout } = superFrame(o);
    const segs = tunnelGsoProbe(hdr, frame);
    t.ok(segs, 'the frame is taken');
    const mss = o.mss ?? 1398;
    t.equal(segs!.length, Math.ceil(payload.length / mss), 'one segment per MSS of payload');
    t.ok(checkSegments(t, segs!, o, layout).equals(payload), 'the payload arrives whole and in order');
  });
}

t.test('refused: headers that do not describe the frame, or types the engine never asks for', async (t) => {
  const cases: Array<[string, (h: Buffer, f: Buffer) => Buffer | void]> = [
    ['no tunnel bit', (h) => void (h[1] = TCP4)],
    ['both tunnel bits', (h) => void (h[1] = TCP4 | TNL4 | TNL6)],
    ['inner UDP (USO is never asked for)', (h) => void (h[1] = UDP_L4 | TNL4)],
    ['inner type none', (h) => void (h[1] = TNL4)],
    ['IPv6 tunnel bit on an IPv4 outer frame', (h) => void (h[1] = TCP4 | TNL6)],
    ['outer_th_offset off by 4', (h) => void h.writeUInt16LE(h.readUInt16LE(20) + 4, 20)],
    ['inner_nh_offset inside the outer UDP header', (h) => void h.writeUInt16LE(h.readUInt16LE(20) + 4, 22)],
    ['inner_nh_offset past the frame', (h, f) => void h.writeUInt16LE(f.length - 10, 22)],
    ['gso_size 0', (h) => void h.writeUInt16LE(0, 4)],
    ['too many segments (gso_size 8)', (h) => void h.writeUInt16LE(8, 4)],
    ['outer IP protocol not UDP', (_h, f) => void (f[14 + 9] = TCP)],
    ['outer IPv4 fragment', (_h, f) => void (f[14 + 6] = 0x20)],
    ['outer IPv4 header length 4', (_h, f) => void (f[14] = 0x41)],
    ['inner protocol not TCP', (_h, f) => void (f[64 + 9] = UDP)],
    ['inner IPv4 fragment', (_h, f) => void f.writeUInt16BE(0x0001, 64 + 6)],
    ['TCP data offset below 5', (_h, f) => void (f[84 + 12] = 0x40)],
    ['TCP data offset past the frame', (_h, f) => {
      f[84 + 12] = 0xf0;
      return f.subarray(0, 84 + 40);
    }],
    ['no payload', (_h, f) => f.subarray(0, 84 + 20)],
    ['outer ethertype ARP', (_h, f) => void f.writeUInt16BE(0x0806, 12)],
  ];
  for (const [name, mutate] of cases) {
    const { hdr, frame } = superFrame();
    const f = mutate(hdr, frame) ?? frame;
    t.equal(tunnelGsoProbe(hdr, f), null, name);
  }
});

t.test('every truncation of a super-frame is refused or split within the bytes it has', async (t) => {
  const { hdr, frame } = superFrame({ payload: 3000, mss: 1000 });
  let refused = 0, split = 0;
  for (let n = 0; n < frame.length; n++) {
    const segs = tunnelGsoProbe(hdr, frame.subarray(0, n));
    if (!segs) refused++;
    else {
      split++;
      const total = segs.reduce((a, s) => a + s.length, 0);
      if (total !== n - 104 + segs.length * 104) t.fail(`cut at ${n}: the segments carry other than the frame's ${n - 104} payload bytes`);
    }
  }
  t.ok(refused >= 104, `cut inside the headers: refused (${refused} refused, ${split} split)`);
});

t.test('mutations: 3000 frames with random bytes changed in the headers, none crashes the splitter', async (t) => {
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  let taken = 0;
  for (let i = 0; i < 3000; i++) {
    const { hdr, frame } = superFrame({ payload: 2000 + rnd(3000), mss: 200 + rnd(1300), outer6: rnd(2) === 1, inner6: rnd(2) === 1 });
    for (let j = 0; j < 1 + rnd(4); j++) {
      if (rnd(3) === 0) hdr[rnd(24)] = rnd(256);
      else frame[rnd(140)] = rnd(256);
    }
    const segs = tunnelGsoProbe(hdr, frame);
    if (segs) {
      taken++;
      for (const s of segs) if (s.length > 65535 || s.length < 14) t.fail(`a segment of ${s.length} bytes`);
    }
  }
  t.pass(`${taken} of 3000 mutated frames were still split (a changed payload, TTL or MAC), the rest refused`);
});
