// Keeping the client's address (builtin driver, TCP and UDP): the relay's
// socket inside the namespace binds the client's address (IP_TRANSPARENT)
// before it connects, so the server sees the real client. The server's
// replies to that (non-local) address must come back to the relay's socket,
// not leave by the default route: policy rules send them to a table whose
// only route is "local default dev lo". TCP: one rule per forwarded port
// (ipproto tcp + source port: a TCP service sends from its listening port
// only on connections it accepted). UDP: one rule per relayed flow, added
// and removed by the relay itself ("to CLIENT ipproto udp dport
// CLIENTPORT", relay_route.cc), since a UDP service also sends from its
// published port on its own (Docker's gossip on 7946, VXLAN, QUIC): a
// per-port rule would loop those datagrams back into the service. Made
// natively in the namespace (no iptables, no ip binary, no process of ours
// left inside). Upstream's table and priority.
import { nsRun } from '@rk/native';

export const SOURCE_IP_TABLE = 100;
export const SOURCE_IP_PRIORITY = 100;
const RTN_LOCAL = 2;
const AF_INET = 2;
const AF_INET6 = 10;
const IPPROTO = { tcp: 6, udp: 17 } as const;

const ignoreExisting = (e: unknown) => {
  if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
};

/** The routes and rules of one namespace, with a count per forwarded (proto, port, family). */
export class SourceIPRouting {
  /** Families whose table route exists, and whether we made it (so close() removes only ours). */
  private tableMade = new Map<number, boolean>();
  private rules = new Map<string, number>();
  constructor(private readonly nsFds: number[]) {}

  private run(op: Parameters<typeof nsRun>[1][number]): void {
    nsRun(this.nsFds, [op]);
  }

  /** Routes replies from proto/port (of family 4 or 6) back locally. Throws when the namespace refuses. */
  acquire(proto: 'tcp' | 'udp', port: number, family: 4 | 6): void {
    const fam = family === 4 ? AF_INET : AF_INET6;
    if (!this.tableMade.has(fam)) {
      // The route needs lo up (a child held at rootlesskit's gate has not brought it up yet).
      if (this.tableMade.size === 0) this.run({ op: 'link', name: 'lo', up: true });
      let made = true;
      try {
        this.run({ op: 'route', family: fam, table: SOURCE_IP_TABLE, rtype: RTN_LOCAL, name: 'lo' });
      } catch (e) {
        ignoreExisting(e);
        made = false;
      }
      this.tableMade.set(fam, made);
    }
    const key = `${proto}/${port}/${family}`;
    const n = this.rules.get(key) ?? 0;
    if (n === 0 && proto === 'tcp') {
      try {
        this.run({ op: 'rule', family: fam, table: SOURCE_IP_TABLE, priority: SOURCE_IP_PRIORITY, ipproto: IPPROTO[proto], sportLo: port, sportHi: port });
      } catch (e) {
        ignoreExisting(e);
      }
    }
    this.rules.set(key, n + 1);
  }

  release(proto: 'tcp' | 'udp', port: number, family: 4 | 6): void {
    const key = `${proto}/${port}/${family}`;
    const n = this.rules.get(key) ?? 0;
    if (n > 1) {
      this.rules.set(key, n - 1);
      return;
    }
    this.rules.delete(key);
    if (proto !== 'tcp') return; // UDP: the relay's per-flow rules went with the flows
    try {
      this.run({
        op: 'rule', family: family === 4 ? AF_INET : AF_INET6, table: SOURCE_IP_TABLE, priority: SOURCE_IP_PRIORITY,
        ipproto: IPPROTO[proto], sportLo: port, sportHi: port, del: true,
      });
    } catch {
      // the namespace is gone, or the rule with it
    }
  }

  /** Removes every rule and the table's routes (best effort: the namespace may be gone). */
  close(): void {
    for (const key of [...this.rules.keys()]) {
      const [proto, port, fam] = key.split('/');
      this.rules.set(key, 1);
      this.release(proto as 'tcp' | 'udp', Number(port), Number(fam) as 4 | 6);
    }
    for (const [fam, made] of this.tableMade) {
      if (!made) continue;
      try {
        this.run({ op: 'route', family: fam, table: SOURCE_IP_TABLE, rtype: RTN_LOCAL, name: 'lo', del: true });
      } catch {
        // gone already
      }
    }
    this.tableMade.clear();
  }
}
