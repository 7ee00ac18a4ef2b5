// One DHCP DISCOVER/OFFER over a length-prefixed frame stream, before the
// frame pump takes the stream over: vpnkit's way to tell a client its address
// (as upstream's vmnet client does), and our way to see that vde_plug's slirp
// is up and agrees on the address. Re-sent every second until an OFFER comes.
import { buildDhcp, DHCP_CLIENT_PORT, DHCP_SERVER_PORT, DhcpType, parseDhcp, type DhcpReply } from './dhcp.js';
import { encodeFrame, FdReader, readFrame, writeAll } from './framed.js';
import { BROADCAST_MAC, parseUdpFrame, randomBytes, udpFrame } from './packet.js';

export interface StreamDhcpOptions {
  inFd: number;
  outFd: number;
  littleEndian: boolean;
  mac: Buffer;
  timeoutMs: number;
  /** Settles if the other side dies meanwhile (its reason is the error). */
  aborted?: Promise<string>;
}

export async function discoverOverStream(o: StreamDhcpOptions): Promise<DhcpReply> {
  const xid = randomBytes(4).readUInt32BE(0);
  const frame = encodeFrame(
    udpFrame({
      srcMac: o.mac,
      dstMac: BROADCAST_MAC,
      srcIp: Buffer.from([0, 0, 0, 0]),
      dstIp: Buffer.from([255, 255, 255, 255]),
      srcPort: DHCP_CLIENT_PORT,
      dstPort: DHCP_SERVER_PORT,
      payload: buildDhcp({ type: DhcpType.Discover, xid, mac: o.mac, broadcast: true }),
    }),
    o.littleEndian,
  );
  const reader = new FdReader(o.inFd);
  let done = false;
  const receive = (async () => {
    for (;;) {
      const f = await readFrame(reader, o.littleEndian);
      const udp = parseUdpFrame(f);
      if (!udp || udp.srcPort !== DHCP_SERVER_PORT || udp.dstPort !== DHCP_CLIENT_PORT) continue;
      const reply = parseDhcp(udp.payload);
      if (reply && reply.op === 2 && reply.xid === xid && reply.type === DhcpType.Offer) return reply;
    }
  })();
  const send = () => {
    if (!done) writeAll(o.outFd, frame);
  };
  send();
  const resend = setInterval(send, 1000);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      receive,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no DHCP offer within ${o.timeoutMs / 1000} s`)), o.timeoutMs);
      }),
      ...(o.aborted ? [o.aborted.then((why) => Promise.reject(new Error(why)))] : []),
    ]);
  } finally {
    done = true;
    clearInterval(resend);
    clearTimeout(timer);
    receive.catch(() => {});
  }
}
