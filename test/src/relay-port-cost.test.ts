// What a published port costs (issue 13, class 8): the namespace's fds and
// its socket pools are shared by every port into it, so a port costs its
// listening socket; 2000 ports fit in a process with a 20000 fd limit.
import t from 'tap';
import { join } from 'node:path';
import { run, tempDir, waitFor } from './harness.js';
import { fdCount, freePorts, SERVERS, spawnTracked, tcpExchange, udpAsk } from './net-helpers.js';

const PORTS = 2000;

t.test(`${PORTS} published ports cost at most 2 fds each`, async (t) => {
  const base = await freePorts(PORTS / 2 + 1);
  const dir = tempDir('rk-cost-');
  t.teardown(() => {
    run(['rm', '-rf', dir]);
  });
  const state = join(dir, 'state');
  const kit = spawnTracked(t, [
    'rootlesskit', '--state-dir', state, '--net=none', '--port-driver=builtin', '-p', `127.0.0.1:${base}:7960/tcp`,
    'node', SERVERS, '7960',
  ]);
  await waitFor(() => kit.stdout().includes('ready') || !kit.isRunning(), 20_000);
  t.ok(kit.isRunning(), kit.isRunning() ? 'rootlesskit runs' : kit.stderr());
  t.equal((await tcpExchange(base, '127.0.0.1', 'a')).toString(), 'a', 'the first port forwards');
  const before = fdCount(kit.pid);
  const specs: string[] = [];
  for (let i = 1; i <= PORTS / 2; i++) specs.push(`127.0.0.1:${base + i}:7961/tcp`, `127.0.0.1:${base + i}:7960/udp`);
  const add = run(['rootlessctl', '--socket', join(state, 'api.sock'), 'add-ports', ...specs], { timeout: 120_000 });
  t.equal(add.code, 0, `add-ports ${PORTS} ports: ${add.stderr.slice(0, 300)}`);
  const after = fdCount(kit.pid);
  t.ok(after - before <= 2 * PORTS, `${after - before} fds for ${PORTS} ports (${((after - before) / PORTS).toFixed(2)} per port)`);
  t.comment(`fds: ${before} with 1 port, ${after} with ${PORTS + 1}`);
  t.match((await tcpExchange(base + PORTS / 2, '127.0.0.1')).toString(), /^127\.0\.0\.1 \d+\n$/, 'the last TCP port forwards');
  t.match(await udpAsk(base + PORTS / 2, '127.0.0.1', 'u'), /^127\.0\.0\.1 \d+ u$/, 'the last UDP port forwards');
  const info = run(['rootlessctl', '--socket', join(state, 'api.sock'), 'info', '--json']);
  t.equal(info.code, 0, 'the API answers');
});
