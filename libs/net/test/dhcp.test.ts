// DHCP messages and the Ethernet/IPv4/UDP framing the drivers build and read
// themselves: checked against hand-computed bytes and against each other.
import t from 'tap';
import { buildDhcp, DhcpType, parseDhcp } from '../src/dhcp.js';
import { checksum, macString, parseUdpFrame, randomMac, udpFrame } from '../src/packet.js';

const MAC = Buffer.from([0x02, 0x11, 0x22, 0x33, 0x44, 0x55]);

t.test('a DISCOVER: BOOTREQUEST, broadcast flag, chaddr, cookie, options, padded to 300 bytes', async (t) => {
  const b = buildDhcp({ type: DhcpType.Discover, xid: 0xdeadbeef, mac: MAC, broadcast: true });
  t.equal(b.length, 300);
  t.equal(b[0], 1);
  t.equal(b.readUInt32BE(4), 0xdeadbeef);
  t.equal(b.readUInt16BE(10), 0x8000);
  t.same([...b.subarray(28, 34)], [...MAC]);
  t.equal(b.readUInt32BE(236), 0x63825363);
  t.same([...b.subarray(240, 243)], [53, 1, 1], 'message type DISCOVER first');
  const r = parseDhcp(b)!;
  t.equal(r.type, DhcpType.Discover);
  t.equal(r.typeName, 'DISCOVER');
});

t.test('a REQUEST carries the requested IP, the server ID and ciaddr', async (t) => {
  const b = buildDhcp({ type: DhcpType.Request, xid: 7, mac: MAC, requestedIp: '198.51.100.60', serverId: '198.51.100.1', ciaddr: '198.51.100.60' });
  t.same([...b.subarray(12, 16)], [198, 51, 100, 60]);
  const i = b.indexOf(Buffer.from([50, 4]), 240);
  t.same([...b.subarray(i + 2, i + 6)], [198, 51, 100, 60]);
  const j = b.indexOf(Buffer.from([54, 4]), 240);
  t.same([...b.subarray(j + 2, j + 6)], [198, 51, 100, 1]);
});

t.test('an ACK is parsed: yiaddr, prefix, routers, DNS, lease, server, MTU; pads skipped', async (t) => {
  const b = Buffer.alloc(240);
  b[0] = 2;
  b.writeUInt32BE(42, 4);
  Buffer.from([10, 0, 3, 15]).copy(b, 16);
  MAC.copy(b, 28);
  b.writeUInt32BE(0x63825363, 236);
  const opts = Buffer.from([0, 53, 1, 5, 1, 4, 255, 255, 240, 0, 3, 8, 10, 0, 3, 1, 10, 0, 3, 2, 6, 4, 9, 9, 9, 9, 51, 4, 0, 0, 14, 16, 54, 4, 10, 0, 3, 1, 26, 2, 5, 220, 255]);
  const r = parseDhcp(Buffer.concat([b, opts]))!;
  t.same(r, {
    op: 2, type: 5, typeName: 'ACK', xid: 42, chaddr: MAC, yiaddr: '10.0.3.15', prefix: 20,
    routers: ['10.0.3.1', '10.0.3.2'], dns: ['9.9.9.9'], leaseSeconds: 3600, serverId: '10.0.3.1', mtu: 1500,
  });
  t.equal(parseDhcp(Buffer.alloc(100)), undefined, 'too short');
  t.equal(parseDhcp(Buffer.alloc(300)), undefined, 'no magic cookie');
  t.ok(parseDhcp(Buffer.concat([b, Buffer.from([53, 1, 2, 3, 40])])), 'a truncated option ends the parse');
});

t.test('UDP frames: checksums verify to zero, parse gives back what was built', async (t) => {
  const payload = Buffer.from('hello');
  const f = udpFrame({ srcMac: MAC, dstMac: Buffer.alloc(6, 0xff), srcIp: Buffer.from([10, 0, 2, 100]), dstIp: Buffer.from([10, 0, 2, 2]), srcPort: 1234, dstPort: 53, payload });
  t.equal(f.readUInt16BE(12), 0x0800);
  const ip = f.subarray(14, 34);
  t.equal(checksum(ip), 0, 'IPv4 header checksum');
  const udp = f.subarray(34);
  const pseudo = Buffer.concat([ip.subarray(12, 20), Buffer.from([0, 17, 0, udp.length]), udp]);
  t.equal(checksum(pseudo), 0, 'UDP checksum');
  const p = parseUdpFrame(f)!;
  t.equal(p.srcPort, 1234);
  t.equal(p.dstPort, 53);
  t.equal(p.payload.toString(), 'hello');
  t.same([...p.srcIp], [10, 0, 2, 100]);
  t.equal(parseUdpFrame(Buffer.concat([f.subarray(0, 12), Buffer.from([0x86, 0xdd]), f.subarray(14)])), undefined, 'not IPv4');
});

t.test('MAC addresses', async (t) => {
  t.equal(macString(MAC), '02:11:22:33:44:55');
  const m = randomMac();
  t.equal(m.length, 6);
  t.equal(m[0]! & 0x03, 0x02, 'locally administered, unicast');
});
