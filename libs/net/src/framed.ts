// Reading and writing a non-blocking fd byte-exactly from JS, for the few
// messages a driver exchanges before its frame pump owns the fd: vpnkit's
// handshake and a DHCP exchange over a length-prefixed frame stream. Reads
// never take more than asked for, so whatever follows stays in the fd for the
// native pump.
import { readSync, writeSync } from 'node:fs';
import { whenReadable } from '@rk/native';

export class FdReader {
  constructor(private readonly fd: number) {}

  /** Exactly n bytes; rejects at EOF ("closed") or on an error. */
  async read(n: number): Promise<Buffer> {
    const buf = Buffer.alloc(n);
    let have = 0;
    while (have < n) {
      let got: number;
      try {
        got = readSync(this.fd, buf, have, n - have, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
          await new Promise<void>((resolve) => whenReadable(this.fd, resolve));
          continue;
        }
        throw e;
      }
      if (got === 0) throw Object.assign(new Error('the peer closed the connection'), { code: 'EOF' });
      have += got;
    }
    return buf;
  }
}

/** Writes all of buf to a non-blocking fd (small messages: the socket buffer has room). */
export function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
  }
}

/** One frame with its 2-byte length in front (little-endian for vpnkit, big-endian for vde_plug). */
export function encodeFrame(frame: Buffer, littleEndian: boolean): Buffer {
  const hdr = Buffer.alloc(2);
  if (littleEndian) hdr.writeUInt16LE(frame.length);
  else hdr.writeUInt16BE(frame.length);
  return Buffer.concat([hdr, frame]);
}

export async function readFrame(r: FdReader, littleEndian: boolean): Promise<Buffer> {
  const hdr = await r.read(2);
  const len = littleEndian ? hdr.readUInt16LE(0) : hdr.readUInt16BE(0);
  return r.read(len);
}
