// vpnkit's vmnet messages, byte for byte as moby/vpnkit documents them
// (go/pkg/vmnet, src/hostnet/vmnet_proto.ml), and the frame length prefix.
import t from 'tap';
import { COMMAND_SIZE, ethernetCommand, INIT_SIZE, initMessage, newUuid, parseInit, parseResponse, RESPONSE_SIZE } from '../src/vmnet.js';
import { encodeFrame } from '../src/framed.js';

t.test('init message: "VMN3T", version 22 little-endian, 40-byte commit', async (t) => {
  const m = initMessage();
  t.equal(m.length, INIT_SIZE);
  t.equal(INIT_SIZE, 49);
  t.equal(m.toString('latin1', 0, 5), 'VMN3T');
  t.same([...m.subarray(5, 9)], [22, 0, 0, 0]);
  t.same(parseInit(m), { magic: 'VMN3T', version: 22, commit: '0'.repeat(40) });
});

t.test('ethernet command: type 1, the UUID as 36 characters, 4 bytes of (unused) IP', async (t) => {
  const uuid = newUuid();
  t.match(uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const c = ethernetCommand(uuid);
  t.equal(c.length, COMMAND_SIZE);
  t.equal(COMMAND_SIZE, 41);
  t.equal(c[0], 1);
  t.equal(c.toString('latin1', 1, 37), uuid);
  t.same([...c.subarray(37)], [0, 0, 0, 0]);
});

t.test('response: a VIF (MTU, max packet size, MAC) or a disconnect reason', async (t) => {
  t.equal(RESPONSE_SIZE, 258);
  const v = Buffer.alloc(RESPONSE_SIZE);
  v[0] = 1;
  v.writeUInt16LE(1500, 1);
  v.writeUInt16LE(1550, 3);
  Buffer.from([0xf6, 0x16, 0x36, 0xbc, 0xf9, 0xc6]).copy(v, 5);
  t.same(parseResponse(v), { mtu: 1500, maxPacketSize: 1550, mac: Buffer.from([0xf6, 0x16, 0x36, 0xbc, 0xf9, 0xc6]) });
  const d = Buffer.alloc(RESPONSE_SIZE);
  d[0] = 2;
  d[1] = 9;
  d.write('UUID used', 2, 'latin1');
  const e = parseResponse(d);
  t.type(e, Error);
  t.match((e as Error).message, /vpnkit refused the connection: UUID used/);
  const u = Buffer.alloc(RESPONSE_SIZE);
  u[0] = 7;
  t.match((parseResponse(u) as Error).message, /unknown response type 7/);
});

t.test('frames: 2-byte length, little-endian for vpnkit, big-endian for vde_plug', async (t) => {
  const f = Buffer.alloc(300, 1);
  t.same([...encodeFrame(f, true).subarray(0, 2)], [0x2c, 0x01]);
  t.same([...encodeFrame(f, false).subarray(0, 2)], [0x01, 0x2c]);
  t.equal(encodeFrame(f, true).length, 302);
});
