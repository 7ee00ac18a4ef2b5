// Budgets in the relay (issue 13, class 6): one client sending one datagram
// from each of thousands of source ports must not take the process's fds:
// UDP flows per port are capped (least recently used first), unanswered
// flows end sooner than answered ones, and afterwards the API answers and
// another port still forwards bytes. Traffic on loopback only, bounded.
import t from 'tap';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { run, tempDir, waitFor } from './harness.js';
import { fdCount, freePorts, pattern, SERVERS, spawnTracked, tcpExchange } from './net-helpers.js';

// The relay's constants (libs/native/src/relay/relay.h).
const UDP_FLOWS_PER_PORT = 1024;
const UNANSWERED_IDLE_MS = 5000;

/** One datagram from each of `count` distinct source ports (batches of 200 open sockets). */
async function flood(port: number, count: number): Promise<void> {
  for (let done = 0; done < count; done += 200) {
    const socks: Socket[] = [];
    const n = Math.min(200, count - done);
    await Promise.all(Array.from({ length: n }, () => new Promise<void>((resolve) => {
      const s = createSocket('udp4');
      socks.push(s);
      s.on('error', () => resolve());
      s.send('x', port, '127.0.0.1', () => resolve());
    })));
    await new Promise((r) => setTimeout(r, 20));
    for (const s of socks) s.close();
  }
}

t.test('a UDP flood from thousands of source ports: flows capped, API and other ports keep working', async (t) => {
  const base = await freePorts(3);
  const dir = tempDir('rk-budget-');
  t.teardown(() => {
    run(['rm', '-rf', dir]);
  });
  const state = join(dir, 'state');
  const kit = spawnTracked(t, [
    'rootlesskit', '--state-dir', state, '--net=none', '--port-driver=builtin',
    '-p', `127.0.0.1:${base}:7950/udp`, '-p', `127.0.0.1:${base + 1}:7950/tcp`, '-p', `127.0.0.1:${base + 2}:7999/udp`,
    'node', SERVERS, '7950',
  ]);
  await waitFor(() => kit.stdout().includes('ready') || !kit.isRunning(), 20_000);
  t.ok(kit.isRunning(), kit.isRunning() ? 'rootlesskit runs' : kit.stderr());
  t.ok(existsSync(join(state, 'api.sock')));
  const before = fdCount(kit.pid);

  await flood(base, 3000);
  await new Promise((r) => setTimeout(r, 500));
  const after = fdCount(kit.pid);
  t.ok(after <= before + UDP_FLOWS_PER_PORT + 64, `fds of rootlesskit bounded: ${before} before, ${after} after 3000 source ports`);
  t.match(kit.stderr(), /1024 UDP flows \(the cap per port\)/, 'one log line when the cap is hit');
  t.equal((kit.stderr().match(/the cap per port/g) ?? []).length, 1, 'only one');
  const info = run(['rootlessctl', '--socket', join(state, 'api.sock'), 'info', '--json']);
  t.equal(info.code, 0, `the API answers: ${info.stderr}`);
  const data = pattern(1 << 16, 3);
  t.ok((await tcpExchange(base + 1, '127.0.0.1', data)).equals(data), 'another (TCP) port forwards bytes');

  // Flows to a port where nothing answers end after UNANSWERED_IDLE_MS, not 90 s.
  const mid = fdCount(kit.pid);
  await flood(base + 2, 300);
  await new Promise((r) => setTimeout(r, 300));
  const flooded = fdCount(kit.pid);
  t.ok(flooded >= mid + 250, `unanswered flows hold a socket each for now (${mid} -> ${flooded})`);
  await waitFor(() => fdCount(kit.pid) <= mid + 10, UNANSWERED_IDLE_MS + 4000).catch(() => {});
  const later = fdCount(kit.pid);
  t.ok(later <= mid + 10, `unanswered flows ended within ${UNANSWERED_IDLE_MS + 4000} ms (${flooded} -> ${later} fds)`);
  t.ok(fdCount(kit.pid) >= before + UDP_FLOWS_PER_PORT - 64, 'answered flows are still there (they end after the 90 s idle timeout)');
});
