import t from 'tap';
import { ApiError } from '@rk/api';
import { listenError, listenPlan, targetIP, unprivilegedPortStart } from '../src/index.js';

t.test('listenPlan: Go net.Listen semantics', async (t) => {
  t.strictSame(listenPlan({ proto: 'tcp', parentPort: 80, childPort: 80 }), [[{ ip: '::', port: 80, v6only: false }], [{ ip: '0.0.0.0', port: 80, v6only: false }]], 'tcp on all addresses: dual-stack, IPv4 as the fallback');
  t.strictSame(listenPlan({ proto: 'udp', parentIP: '0.0.0.0', parentPort: 53, childPort: 53 })[0], [{ ip: '::', port: 53, v6only: false }], 'udp 0.0.0.0: dual-stack too');
  t.strictSame(listenPlan({ proto: 'tcp4', parentIP: '0.0.0.0', parentPort: 80, childPort: 80 }), [[{ ip: '0.0.0.0', port: 80, v6only: false }]], 'tcp4: IPv4 only');
  t.strictSame(listenPlan({ proto: 'tcp6', parentIP: '::', parentPort: 80, childPort: 80 }), [[{ ip: '::', port: 80, v6only: true }]], 'tcp6: IPv6 only');
  t.strictSame(listenPlan({ proto: 'tcp6', parentIP: '0.0.0.0', parentPort: 80, childPort: 80 }), [[{ ip: '::', port: 80, v6only: true }]], 'tcp6 with 0.0.0.0 means ::');
  t.strictSame(listenPlan({ proto: 'tcp', parentIP: '127.0.0.1', parentPort: 8080, childPort: 80 }), [[{ ip: '127.0.0.1', port: 8080, v6only: false }]]);
  t.strictSame(listenPlan({ proto: 'tcp', parentIP: '::1', parentPort: 8080, childPort: 80 }), [[{ ip: '::1', port: 8080, v6only: true }]]);
});

t.test('targetIP: as upstream builtin chooses', async (t) => {
  const gw = '192.168.1.10';
  const s = (parentIP?: string, childIP?: string) => ({ proto: 'tcp', parentPort: 1, childPort: 2, ...(parentIP ? { parentIP } : {}), ...(childIP ? { childIP } : {}) });
  t.equal(targetIP(s(), gw), '127.0.0.1', 'nothing given: 127.0.0.1');
  t.equal(targetIP(s('0.0.0.0'), gw), '127.0.0.1');
  t.equal(targetIP(s(gw), gw), '127.0.0.1', "the host's own address: 127.0.0.1");
  t.equal(targetIP(s('127.0.0.1'), gw), '127.0.0.1');
  t.equal(targetIP(s('::1'), gw), '::1', 'a specific parent IP is the target');
  t.equal(targetIP(s('::'), gw), '::', ':: (connecting to it reaches ::1)');
  t.equal(targetIP(s('10.1.2.3'), gw), '10.1.2.3');
  t.equal(targetIP(s('127.0.0.1', '10.0.2.100'), gw), '10.0.2.100', 'the child IP wins');
  t.equal(targetIP(s('::', '127.0.0.1'), gw), '127.0.0.1', 'v6 to v4');
});

t.test('listenError: messages that name the fix', async (t) => {
  const err = (code: string) => Object.assign(new Error(`listen 0.0.0.0:80: ${code} (x)`), { code, address: '0.0.0.0', port: 80 });
  const start = unprivilegedPortStart();
  const priv = listenError(err('EACCES'), { proto: 'tcp', parentPort: 80, childPort: 80 });
  t.ok(priv instanceof ApiError);
  t.equal(priv.status, 400);
  if (start !== undefined && start > 80) {
    t.match(priv.message, `cannot expose privileged port 80 (net.ipv4.ip_unprivileged_port_start is ${start}): sudo sysctl -w net.ipv4.ip_unprivileged_port_start=80 (or choose a port >= ${start})`);
  }
  t.match(listenError(err('EADDRINUSE'), { proto: 'tcp', parentPort: 8080, childPort: 80 }).message, /8080:80\/tcp: the host port is already in use/);
  t.match(listenError(err('EADDRNOTAVAIL'), { proto: 'tcp', parentIP: '10.9.9.9', parentPort: 8080, childPort: 80 }).message, /is not an address of this host/);
});
