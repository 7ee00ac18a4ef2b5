// vpnkit's "vmnet" protocol on its ethernet unix socket, as documented by
// moby/vpnkit (go/pkg/vmnet and src/hostnet/vmnet_proto.ml): both sides send
// a 49-byte init message ("VMN3T", version 22 little-endian, a 40-byte commit);
// the client sends a 41-byte command (1 = ethernet, a 36-character UUID, 4
// bytes of IPv4 for "preferred IP", unused here); the server answers with 258
// bytes: type 1 (a VIF: MTU, max packet size, the client's MAC) or type 2
// (disconnect: a length and a reason). Then Ethernet frames flow, each after
// its length as 2 bytes little-endian.
import { FdReader, writeAll } from './framed.js';
import { randomBytes } from './packet.js';

export const VMNET_MAGIC = 'VMN3T';
export const VMNET_VERSION = 22;
export const INIT_SIZE = 5 + 4 + 40;
export const COMMAND_SIZE = 1 + 36 + 4;
export const RESPONSE_SIZE = 1 + 1 + 256;

export interface Vif {
  mtu: number;
  maxPacketSize: number;
  mac: Buffer;
}

export function initMessage(): Buffer {
  const b = Buffer.alloc(INIT_SIZE);
  b.write(VMNET_MAGIC, 0, 'latin1');
  b.writeUInt32LE(VMNET_VERSION, 5);
  b.write('0'.repeat(40), 9, 'latin1');
  return b;
}

export function parseInit(b: Buffer): { magic: string; version: number; commit: string } {
  return { magic: b.toString('latin1', 0, 5), version: b.readUInt32LE(5), commit: b.toString('latin1', 9, 49).replace(/\0+$/, '') };
}

/** A random (version 4) UUID, as text. */
export function newUuid(): string {
  const b = randomBytes(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function ethernetCommand(uuid: string): Buffer {
  const b = Buffer.alloc(COMMAND_SIZE);
  b[0] = 1;
  b.write(uuid, 1, 36, 'latin1');
  return b;
}

/** The server's answer to the command: a VIF, or an Error with its disconnect reason. */
export function parseResponse(b: Buffer): Vif | Error {
  if (b[0] === 1) return { mtu: b.readUInt16LE(1), maxPacketSize: b.readUInt16LE(3), mac: Buffer.from(b.subarray(5, 11)) };
  if (b[0] === 2) return new Error(`vpnkit refused the connection: ${b.toString('latin1', 2, 2 + b[1]!)}`);
  return new Error(`vpnkit answered with an unknown response type ${b[0]}`);
}

/**
 * The handshake on a connected socket: init messages, then the ethernet
 * command; the VIF vpnkit gave us. Like upstream's client, any protocol
 * version the server names is accepted (it is reported in `version`).
 */
export async function vmnetHandshake(fd: number, uuid: string): Promise<Vif & { version: number }> {
  const r = new FdReader(fd);
  writeAll(fd, initMessage());
  const theirs = parseInit(await r.read(INIT_SIZE));
  if (theirs.magic !== VMNET_MAGIC) throw new Error(`not a vpnkit ethernet socket (it greeted with ${JSON.stringify(theirs.magic)})`);
  writeAll(fd, ethernetCommand(uuid));
  const vif = parseResponse(await r.read(RESPONSE_SIZE));
  if (vif instanceof Error) throw vif;
  return { ...vif, version: theirs.version };
}
