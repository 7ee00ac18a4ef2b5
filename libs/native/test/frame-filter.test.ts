// The NAT engine's frame filter on its own (src/nat/frame_filter.h), fed
// crafted Ethernet frames through the test-only probe: IPv4 reassembly (out
// of order, overlaps, too long, timeouts, floods), IPv6 fragments, host
// loopback destinations, the socket budget, malformed headers, and a bounded
// mutation run.
import t from 'tap';
import { frameFilterProbe, type FrameFilterConfig, type FrameFilterStep } from '../src/index.js';

const TCP = 6, UDP = 17, ICMP = 1, ICMP6 = 58;
const SYN = 0x02, ACK = 0x10;

// ---- frame builders ----

function v4(s: string): Buffer {
  return Buffer.from(s.split('.').map(Number));
}
function v6(s: string): Buffer {
  const b = Buffer.alloc(16);
  let text = s;
  const m = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (m) text = `${m[1]}${v4(m[2]!).readUInt16BE(0).toString(16)}:${v4(m[2]!).readUInt16BE(2).toString(16)}`;
  const [head, tail = ''] = text.split('::');
  const words = (x: string) => (x ? x.split(':').map((w) => parseInt(w, 16)) : []);
  const h = words(head!), tl = words(tail);
  const all = text.includes('::') ? [...h, ...Array(8 - h.length - tl.length).fill(0), ...tl] : h;
  all.forEach((w, i) => b.writeUInt16BE(w, i * 2));
  return b;
}

function csum(b: Buffer): number {
  let s = 0;
  for (let i = 0; i + 1 < b.length; i += 2) s += b.readUInt16BE(i);
  if (b.length & 1) s += b[b.length - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

function eth(type: number, payload: Buffer): Buffer {
  const h = Buffer.from([0x52, 0x55, 10, 0, 2, 2, 0x5a, 0x94, 0xef, 0xe4, 0x0c, 0xee, type >> 8, type & 0xff]);
  return Buffer.concat([h, payload]);
}

interface Ip4 {
  src?: string;
  dst?: string;
  proto: number;
  id?: number;
  /** Fragment offset in bytes (a multiple of 8). */
  off?: number;
  mf?: boolean;
  options?: Buffer;
  /** Override the total length field. */
  total?: number;
}

function ip4(o: Ip4, payload: Buffer): Buffer {
  const opts = o.options ?? Buffer.alloc(0);
  const h = Buffer.alloc(20 + opts.length);
  h[0] = 0x40 | (h.length / 4);
  h.writeUInt16BE(o.total ?? h.length + payload.length, 2);
  h.writeUInt16BE(o.id ?? 1, 4);
  h.writeUInt16BE(((o.off ?? 0) / 8) | (o.mf ? 0x2000 : 0), 6);
  h[8] = 64;
  h[9] = o.proto;
  v4(o.src ?? '10.0.2.100').copy(h, 12);
  v4(o.dst ?? '192.0.2.1').copy(h, 16);
  opts.copy(h, 20);
  h.writeUInt16BE(csum(h), 10);
  return eth(0x0800, Buffer.concat([h, payload]));
}

function ip6(o: { src?: string; dst?: string; nh: number }, payload: Buffer): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(payload.length, 4);
  h[6] = o.nh;
  h[7] = 64;
  v6(o.src ?? 'fd00::100').copy(h, 8);
  v6(o.dst ?? '2001:db8::1').copy(h, 24);
  return eth(0x86dd, Buffer.concat([h, payload]));
}

function tcp(sport: number, dport: number, flags: number, data = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h[12] = 5 << 4;
  h[13] = flags;
  h.writeUInt16BE(65535, 14);
  return Buffer.concat([h, data]);
}

function udp(sport: number, dport: number, data = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(8 + data.length, 4);
  return Buffer.concat([h, data]);
}

function echo(type: number, data = Buffer.alloc(8)): Buffer {
  return Buffer.concat([Buffer.from([type, 0, 0, 0, 0, 1, 0, 1]), data]);
}

function pattern(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

/** A datagram's IP payload cut into fragments of `size` bytes (a multiple of 8). */
function fragments(o: Omit<Ip4, 'off' | 'mf'>, payload: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < payload.length; off += size) {
    const part = payload.subarray(off, off + size);
    out.push(ip4({ ...o, off, mf: off + size < payload.length }, part));
  }
  return out;
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function run(config: FrameFilterConfig, steps: FrameFilterStep[], outputs: 'reassembled' | 'all' | 'none' = 'reassembled') {
  return frameFilterProbe(config, steps, { outputs });
}
const at = (nowMs: number, frames: Buffer[]): FrameFilterStep[] => frames.map((frame) => ({ nowMs, frame }));

// ---- reassembly ----

t.test('fragments out of order (last first, MF=0 non-first first) reassemble into the exact datagram', async (t) => {
  const data = udp(40000, 9, pattern(3000));
  const whole = ip4({ proto: UDP, id: 77 }, data);
  const frags = fragments({ proto: UDP, id: 77 }, data, 1480);
  t.equal(frags.length, 3);
  for (const order of [[2, 1, 0], [1, 2, 0], [0, 2, 1], [2, 0, 1]]) {
    const r = run({}, at(0, order.map((i) => frags[i]!)));
    t.same(r.verdicts, ['held', 'held', 'reassembled'], `order ${order}`);
    t.ok(r.outputs[2]!.equals(whole), `order ${order}: the bytes of the whole datagram, length and checksum fixed`);
    t.equal(r.stats.reassembled, 1);
    t.equal(r.stats.reassPending, 0);
    t.equal(r.stats.reassBytes, 0, 'blocks given back');
  }
  // The first fragment with IP options: the whole datagram keeps them.
  const opts = Buffer.from([1, 1, 1, 0]); // NOP NOP NOP EOL
  const withOpts = fragments({ proto: UDP, id: 78, options: opts }, data, 1480);
  const r = run({}, at(0, [withOpts[2]!, withOpts[0]!, withOpts[1]!]));
  t.same(r.verdicts, ['held', 'held', 'reassembled']);
  t.ok(r.outputs[2]!.equals(ip4({ proto: UDP, id: 78, options: opts }, data)));
  // The largest datagram (65535 bytes) in 1208-byte fragments, shuffled.
  const rand = rng(7);
  const big = udp(40000, 9, pattern(65535 - 28, 3));
  const bigFrags = fragments({ proto: UDP, id: 79 }, big, 1208).sort(() => rand() - 0.5);
  const rb = run({}, at(0, bigFrags));
  t.equal(rb.verdicts.at(-1), 'reassembled');
  t.ok(rb.outputs.at(-1)!.equals(ip4({ proto: UDP, id: 79 }, big)), '65535 bytes, the same bytes');
  // The crash trigger alone: never passed on, gone at expiry.
  const lone = run({}, [{ nowMs: 0, frame: frags[2]! }, { nowMs: 5000, expire: true }]);
  t.same(lone.verdicts, ['held', null]);
  t.equal(lone.stats.reassExpired, 1);
  t.equal(lone.stats.fragDropped, 1);
});

t.test('overlapping, duplicate, inconsistent and too-long fragments drop the datagram', async (t) => {
  const data = udp(40000, 9, pattern(3000));
  const frags = fragments({ proto: UDP, id: 5 }, data, 1480);
  const overlap = ip4({ proto: UDP, id: 5, off: 1472, mf: true }, pattern(16));
  let r = run({}, at(0, [frags[0]!, overlap, frags[1]!, frags[2]!]));
  t.same(r.verdicts, ['held', 'drop', 'held', 'held'], 'the overlap drops what was held; the rest starts anew');
  t.equal(r.stats.reassBad, 1);
  t.equal(r.stats.fragDropped, 2);
  t.equal(r.stats.reassembled, 0);

  r = run({}, at(0, [frags[1]!, frags[1]!, frags[0]!, frags[2]!]));
  t.same(r.verdicts, ['held', 'drop', 'held', 'held'], 'an exact duplicate counts as an overlap');

  // Two last fragments that disagree on the end; a last fragment ending
  // before data already held; a non-last fragment whose length is not a
  // multiple of 8.
  r = run({}, at(0, [
    ip4({ proto: UDP, id: 6, off: 1480 }, pattern(100)),
    ip4({ proto: UDP, id: 6, off: 1480 + 200 }, pattern(100)),
    ip4({ proto: UDP, id: 7, off: 2960, mf: true }, pattern(8)),
    ip4({ proto: UDP, id: 7, off: 1480 }, pattern(100)),
    ip4({ proto: UDP, id: 8, off: 0, mf: true }, pattern(100)),
  ]));
  t.same(r.verdicts, ['held', 'drop', 'held', 'drop', 'drop']);
  t.equal(r.stats.reassBad, 3);

  // Past 65535 bytes: offset 65528 + 16, and a first fragment with 40 bytes
  // of options whose datagram ends at 65512 (60 + 65512 > 65535).
  r = run({}, at(0, [
    ip4({ proto: UDP, id: 9, off: 65528 }, pattern(16)),
    ip4({ proto: UDP, id: 10, off: 65504 }, pattern(8)),
    ip4({ proto: UDP, id: 10, off: 0, mf: true, options: Buffer.alloc(40, 1) }, pattern(8)),
  ]));
  t.same(r.verdicts, ['drop', 'held', 'drop']);
  t.equal(r.stats.reassTooLong, 2);
  t.equal(r.stats.reassPending, 0);
  t.equal(r.stats.reassembled, 0);
});

t.test('incomplete datagrams expire after the timeout and free their bytes', async (t) => {
  const data = udp(40000, 9, pattern(3000));
  const frags = fragments({ proto: UDP, id: 11 }, data, 1480);
  const r = run({}, [
    { nowMs: 1000, frame: frags[0]!, snapshot: true },
    { nowMs: 5999, frame: frags[1]!, expire: true, snapshot: true },
    { nowMs: 6000, expire: true, snapshot: true },
    { nowMs: 6001, frame: frags[2]! },
  ]);
  t.same(r.verdicts, ['held', 'held', null, 'held'], 'the last fragment after the timeout starts a new datagram');
  t.equal(r.snapshots[0]!.nextExpiryMs, 6000);
  t.equal(r.snapshots[1]!.reassBytes, 4096);
  t.equal(r.snapshots[2]!.reassExpired, 1);
  t.equal(r.snapshots[2]!.reassBytes, 0);
  t.equal(r.snapshots[2]!.nextExpiryMs, -1);
  t.equal(r.stats.reassembled, 0);
  // Expiry also happens on the way, without a timer call.
  const r2 = run({ reassTimeoutMs: 100 }, [{ nowMs: 0, frame: frags[0]! }, { nowMs: 100, frame: frags[2]! }]);
  t.equal(r2.stats.reassExpired, 1);
});

t.test('a flood of 100k distinct fragments stays within the budgets, logs once, and frees on expiry', async (t) => {
  // Tiny fragments 2 KiB apart: each takes a whole block, so the byte
  // budget (1 MiB) binds before the datagram budget (64).
  const steps: FrameFilterStep[] = [];
  for (let i = 0; i < 100_000; i++) {
    const id = Math.floor(i / 32) & 0xffff;
    const src = `10.0.2.${100 + (Math.floor(i / (32 * 65536)) % 100)}`;
    steps.push({ nowMs: Math.floor(i / 1000), frame: ip4({ proto: UDP, id, src, off: (i % 32) * 2048, mf: true }, pattern(8, i)) });
    if (i === 50_000) {
      // A real datagram in the middle of the flood still gets through.
      for (const frame of fragments({ proto: UDP, id: 4242, src: '10.0.2.99' }, udp(1, 9, pattern(4000)), 1480)) steps.push({ nowMs: 50, frame });
    }
  }
  steps.push({ nowMs: 100, snapshot: true });
  steps.push({ nowMs: 100 + 5000, expire: true, snapshot: true });
  const r = run({}, steps, 'none');
  const [flood, after] = r.snapshots;
  t.equal(flood!.reassBytesPeak, 1 << 20, 'the byte budget was reached and never passed');
  t.ok(flood!.reassPending <= 64);
  t.ok(flood!.reassEvicted > 3000, `oldest datagrams dropped for room (${flood!.reassEvicted})`);
  t.equal(flood!.reassembled, 1, 'the real datagram reassembled');
  t.equal(r.logs.filter((l) => /reassembly budget reached/.test(l)).length, 1, r.logs.join('\n'));
  t.equal(after!.reassPending, 0);
  t.equal(after!.reassBytes, 0, 'everything given back at expiry');
  t.equal(after!.nextExpiryMs, -1);

  // Single fragments of distinct datagrams: the datagram budget binds.
  const many = run({}, Array.from({ length: 100_000 }, (_, i) => ({
    nowMs: 0,
    frame: ip4({ proto: UDP, id: i & 0xffff, dst: `192.0.2.${1 + (i >> 16)}`, off: 8, mf: true }, pattern(8)),
  })), 'none');
  t.equal(many.stats.reassPending, 64);
  t.equal(many.stats.reassEvicted, 100_000 - 64);
  t.ok(many.stats.reassBytesPeak <= 64 * 2048);
});

t.test('IPv6 frames with a fragment header are dropped', async (t) => {
  const fragHdr = Buffer.from([UDP, 0, 0, 1, 0, 0, 0, 42]); // offset 0, MF
  const hopByHop = Buffer.from([44, 0, 1, 4, 0, 0, 0, 0]); // then a fragment header
  const r = run({}, at(0, [
    ip6({ nh: 44 }, Buffer.concat([fragHdr, udp(1, 9, pattern(64))])),
    ip6({ nh: 0 }, Buffer.concat([hopByHop, fragHdr, udp(1, 9, pattern(64))])),
    ip6({ nh: UDP }, udp(1, 9, pattern(64))),
  ]));
  t.same(r.verdicts, ['drop', 'drop', 'pass']);
  t.equal(r.stats.v6FragDropped, 2);
});

// ---- host loopback ----

t.test('host loopback destinations are dropped only with disableHostLoopback', async (t) => {
  const loopback = [
    ip4({ proto: TCP, dst: '127.0.0.1' }, tcp(40000, 22, SYN)),
    ip4({ proto: UDP, dst: '127.5.6.7' }, udp(40000, 53)),
    ip4({ proto: ICMP, dst: '0.0.0.0' }, echo(8)),
    ip4({ proto: 47, dst: '0.1.2.3' }, pattern(24)), // GRE: anything else
    ip4({ proto: TCP, dst: '127.0.0.1', off: 8 }, pattern(8)), // a fragment
    ip6({ nh: TCP, dst: '::1' }, tcp(40000, 22, SYN)),
    ip6({ nh: UDP, dst: '::' }, udp(40000, 53)),
    ip6({ nh: TCP, dst: '::ffff:127.0.0.1' }, tcp(40000, 22, SYN | ACK)),
    ip6({ nh: ICMP6, dst: '::ffff:0.0.0.0' }, echo(128)),
    ip6({ nh: UDP, dst: '::127.0.0.1' }, udp(40000, 53)),
    ip6({ nh: 132, dst: '::ffff:127.1.2.3' }, pattern(16)), // SCTP
  ];
  const others = [
    ip4({ proto: TCP, dst: '10.0.2.2' }, tcp(40000, 22, SYN)),
    ip4({ proto: UDP, dst: '192.0.2.1' }, udp(40000, 53)),
    ip4({ proto: UDP, dst: '128.0.0.1' }, udp(40000, 53)),
    ip6({ nh: TCP, dst: 'fd00::2' }, tcp(40000, 22, SYN)),
    ip6({ nh: UDP, dst: '::ffff:192.0.2.1' }, udp(40000, 53)),
    ip6({ nh: UDP, dst: '::2:0:0:1' }, udp(40000, 53)),
  ];
  const off = run({}, at(0, [...loopback, ...others]));
  t.same(off.verdicts, [...loopback.map((_, i) => (i === 4 ? 'held' : 'pass')), ...others.map(() => 'pass')]);
  t.equal(off.stats.loopbackDropped, 0);
  const on = run({ disableHostLoopback: true }, at(0, [...loopback, ...others]));
  t.same(on.verdicts, [...loopback.map(() => 'drop'), ...others.map(() => 'pass')]);
  t.equal(on.stats.loopbackDropped, loopback.length);
  // The engine's own DNS upstream in tests: that one address and port only.
  const ex = run({ disableHostLoopback: true, loopbackExempt: '127.0.0.1:5353' }, at(0, [
    ip4({ proto: UDP, dst: '127.0.0.1' }, udp(40000, 5353)),
    ip4({ proto: UDP, dst: '127.0.0.1' }, udp(40000, 5354)),
    ip4({ proto: TCP, dst: '127.0.0.2' }, tcp(40000, 5353, SYN)),
  ]));
  t.same(ex.verdicts, ['pass', 'drop', 'drop']);
});

// ---- socket budget ----

t.test('at the socket budget, frames that would open a socket are dropped; the rest pass; one log line per episode', async (t) => {
  const cfg: FrameFilterConfig = { maxSockets: 10, gateway4: '10.0.2.2', dns4: '10.0.2.3', gateway6: 'fd00::2', dns6: 'fd00::3' };
  const known = ip4({ proto: UDP }, udp(40001, 53));
  const r = run(cfg, [
    { nowMs: 0, openSockets: 7, frame: known },
    { nowMs: 0, frame: ip4({ proto: TCP }, tcp(40000, 80, SYN)) },
    { nowMs: 1, openSockets: 10, frame: ip4({ proto: TCP }, tcp(40002, 80, SYN)) }, // 2
    { nowMs: 1, frame: ip4({ proto: TCP }, tcp(40000, 80, ACK)) },
    { nowMs: 1, frame: ip4({ proto: TCP }, tcp(40000, 80, SYN | ACK)) },
    { nowMs: 1, frame: ip4({ proto: UDP, dst: '192.0.2.77' }, udp(40001, 9)) }, // known source, any destination
    { nowMs: 1, frame: ip4({ proto: UDP }, udp(40003, 53)) }, // 6: new source
    { nowMs: 1, frame: ip4({ proto: UDP, src: '10.0.2.101' }, udp(40001, 53)) }, // 7: same port, new address
    { nowMs: 1, frame: ip4({ proto: ICMP }, echo(8)) }, // 8
    { nowMs: 1, frame: ip4({ proto: ICMP, dst: '10.0.2.2' }, echo(8)) },
    { nowMs: 1, frame: ip4({ proto: ICMP, dst: '10.0.2.3' }, echo(8)) },
    { nowMs: 1, frame: ip4({ proto: ICMP }, echo(0)) }, // a reply
    { nowMs: 1, frame: ip6({ nh: ICMP6 }, echo(128)) }, // 12
    { nowMs: 1, frame: ip6({ nh: ICMP6, dst: 'fd00::2' }, echo(128)) },
    { nowMs: 1, frame: ip6({ nh: TCP }, tcp(40000, 80, SYN)) }, // 14
    { nowMs: 1, frame: ip4({ proto: UDP, src: '0.0.0.0', dst: '255.255.255.255' }, udp(68, 67)) }, // DHCP
    { nowMs: 1, frame: Buffer.concat([eth(0x0806, pattern(28))]) }, // ARP
    { nowMs: 2, openSockets: 3, frame: ip4({ proto: TCP }, tcp(40004, 80, SYN)) }, // recovered
    { nowMs: 3, openSockets: 10, frame: ip4({ proto: UDP }, udp(40005, 53)) }, // 18: hit again
  ]);
  t.same(r.verdicts, [
    'pass', 'pass', 'drop', 'pass', 'pass', 'pass', 'drop', 'drop', 'drop', 'pass',
    'pass', 'pass', 'drop', 'pass', 'drop', 'pass', 'pass', 'pass', 'drop',
  ]);
  t.equal(r.stats.budgetDropped, 7);
  t.equal(r.logs.length, 2, 'logged when hit, and again after recovering');
  t.match(r.logs[0]!, /socket budget 10 reached, dropping/);
  // A known source is forgotten after libslirp's UDP socket timeout.
  const late = run({ ...cfg, udpSourceWindowMs: 1000 }, [
    { nowMs: 0, frame: known },
    { nowMs: 999, openSockets: 10, frame: known },
    { nowMs: 1998, frame: known },
    { nowMs: 3000, frame: known },
  ]);
  t.same(late.verdicts, ['pass', 'pass', 'pass', 'drop']);
  // UDP and ICMP stop at three quarters of the budget; TCP keeps the rest.
  const quarter = run(cfg, [
    { nowMs: 0, openSockets: 8, frame: ip4({ proto: UDP }, udp(41000, 53)) },
    { nowMs: 0, frame: ip4({ proto: ICMP }, echo(8)) },
    { nowMs: 0, frame: ip4({ proto: TCP }, tcp(41001, 80, SYN)) },
    { nowMs: 0, openSockets: 7, frame: ip4({ proto: UDP }, udp(41002, 53)) },
  ]);
  t.same(quarter.verdicts, ['drop', 'drop', 'pass', 'pass']);
});

// ---- malformed ----

t.test('malformed headers are dropped, not passed on', async (t) => {
  const good = ip4({ proto: TCP }, tcp(1, 2, ACK));
  const badIhl = Buffer.from(good);
  badIhl[14] = 0x44;
  const v6in4 = Buffer.from(good);
  v6in4[14] = 0x65;
  const badDoff = ip4({ proto: TCP }, tcp(1, 2, ACK));
  badDoff[14 + 20 + 12] = 0xf0;
  const badSum = ip4({ proto: UDP, off: 8, mf: true }, pattern(8));
  badSum[14 + 10] ^= 0xff;
  const udpLong = ip4({ proto: UDP }, udp(1, 2, pattern(8)));
  udpLong.writeUInt16BE(100, 14 + 20 + 4);
  const frames = [
    Buffer.alloc(10),
    good.subarray(0, 30),
    badIhl,
    v6in4,
    ip4({ proto: TCP, total: 200 }, tcp(1, 2, ACK)), // total beyond the frame
    ip4({ proto: TCP, total: 16 }, tcp(1, 2, ACK)), // total below the header
    ip4({ proto: TCP }, tcp(1, 2, ACK).subarray(0, 10)), // TCP header cut short
    badDoff,
    badSum,
    udpLong,
    ip4({ proto: ICMP }, Buffer.from([8, 0, 0, 0])),
    ip6({ nh: UDP }, udp(1, 2)).subarray(0, 50),
    (() => {
      const f = ip6({ nh: UDP }, udp(1, 2));
      f.writeUInt16BE(400, 14 + 4);
      return f;
    })(),
  ];
  const r = run({}, at(0, [...frames, good]));
  t.same(r.verdicts, [...frames.map(() => 'drop'), 'pass']);
  t.equal(r.stats.malformedDropped, frames.length);
});

// ---- mutation run ----


t.test('200k mutated frames (fragments included) do not crash it and keep the budgets', async (t) => {
  const cfg: FrameFilterConfig = { disableHostLoopback: true, maxSockets: 50, gateway4: '10.0.2.2', gateway6: 'fd00::2' };
  let total = 0;
  for (const seed of [1, 2, 3, 4]) {
    const rand = rng(seed);
    const pick = <T>(a: T[]): T => a[Math.floor(rand() * a.length)]!;
    const steps: FrameFilterStep[] = [];
    let now = 0;
    while (steps.length < 50_000) {
      now += Math.floor(rand() * 20);
      const id = Math.floor(rand() * 64);
      const kind = Math.floor(rand() * 8);
      let frames: Buffer[];
      if (kind < 3) {
        // A fragmented datagram in a random order, sometimes with a fragment lost.
        const data = udp(1000 + id, 9, pattern(64 + Math.floor(rand() * 600), id));
        frames = fragments({ proto: pick([UDP, TCP, ICMP]), id, dst: pick(['192.0.2.1', '127.0.0.1']) }, data, 8 * (1 + Math.floor(rand() * 40)));
        frames.sort(() => rand() - 0.5);
        if (rand() < 0.2) frames.pop();
      } else {
        frames = [pick([
          () => ip4({ proto: TCP, dst: pick(['192.0.2.1', '10.0.2.2', '0.0.0.0']) }, tcp(id, 80, pick([SYN, ACK, SYN | ACK]))),
          () => ip4({ proto: UDP }, udp(id, 53, pattern(Math.floor(rand() * 100)))),
          () => ip4({ proto: ICMP }, echo(8)),
          () => ip6({ nh: pick([TCP, UDP, ICMP6, 44, 0]), dst: pick(['2001:db8::1', '::1', 'fd00::2']) }, pattern(8 + Math.floor(rand() * 80))),
          () => ip4({ proto: UDP, id, off: 8 * Math.floor(rand() * 8192), mf: rand() < 0.5 }, pattern(8 * (1 + Math.floor(rand() * 20)))),
        ])()];
      }
      for (let f of frames) {
        if (rand() < 0.6) {
          f = Buffer.from(f);
          const flips = 1 + Math.floor(rand() * 4);
          for (let k = 0; k < flips; k++) f[Math.floor(rand() * f.length)] = Math.floor(rand() * 256);
          if (rand() < 0.2) f = f.subarray(0, Math.floor(rand() * f.length));
          if (rand() < 0.1) f = Buffer.concat([f, pattern(Math.floor(rand() * 64))]);
        }
        steps.push({ nowMs: now, frame: f, openSockets: rand() < 0.01 ? Math.floor(rand() * 100) : undefined, expire: rand() < 0.001 });
      }
    }
    const r = run(cfg, steps);
    total += steps.length;
    const count = (v: string) => r.verdicts.filter((x) => x === v).length;
    t.equal(count('pass') + count('drop') + count('held') + count('reassembled'), steps.length, `seed ${seed}: a verdict for every frame`);
    t.equal(r.stats.passed, count('pass'));
    t.ok(r.stats.reassBytesPeak <= 1 << 20 && r.stats.reassPending <= 64);
    t.ok(count('reassembled') > 100, `seed ${seed}: ${count('reassembled')} reassembled`);
    for (const out of r.outputs) {
      if (!out) continue;
      const ihl = (out[14]! & 15) * 4;
      if (out.readUInt16BE(14 + 2) !== out.length - 14 || out.readUInt16BE(14 + 6) !== 0 || csum(out.subarray(14, 14 + ihl)) !== 0) {
        t.fail(`seed ${seed}: a reassembled frame with a wrong header`);
        break;
      }
    }
  }
  t.equal(total >= 200_000, true, `${total} frames`);
});
