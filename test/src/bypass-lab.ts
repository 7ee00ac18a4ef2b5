// The bypass tests' lab (test/src/bypass*.test.ts): as root, a "host"
// network namespace (where rootlesskit runs, as the test user) and a "remote"
// one joined to it by a veth, with TEST-NET-1 and 2001:db8:: addresses (the
// machine's own network is never touched); the clients of
// fixtures/bypass-client.py run as rootlesskit's CMD and print what they saw.
import { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRoot, repoRoot, tempDir, waitFor } from './harness.js';
import { spawnTracked, type Proc } from './net-helpers.js';

export const CLIENT = join(repoRoot, 'test/src/fixtures/bypass-client.py');
export const REMOTE = join(repoRoot, 'test/src/fixtures/bypass-remote.py');
const tag = String(process.pid % 100000);
export const HOST_NS = `rkbh${tag}`;
export const REMOTE_NS = `rkbr${tag}`;
export const HOST4 = '192.0.2.201';
export const REMOTE4 = '192.0.2.202';
export const HOST6 = '2001:db8::201';
export const REMOTE6 = '2001:db8::202';
export const PORT = 7300;
export const skip = !isRoot && 'needs root to make the test namespaces';

export function sh(args: string[]): void {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
}

/** The two namespaces, the remote's server (PORT: "PEERIP PEERPORT\n" + 1000 bytes; UDP echo), and a server on the host's loopback. */
export async function topology(t: Test): Promise<{ hostLoopClients: () => string[] }> {
  const veth = `rkbv${tag}`;
  sh(['ip', 'netns', 'add', HOST_NS]);
  t.teardown(() => spawnSync('ip', ['netns', 'del', HOST_NS]));
  sh(['ip', 'netns', 'add', REMOTE_NS]);
  t.teardown(() => spawnSync('ip', ['netns', 'del', REMOTE_NS]));
  sh(['ip', '-n', HOST_NS, 'link', 'add', `${veth}h`, 'type', 'veth', 'peer', 'name', `${veth}r`, 'netns', REMOTE_NS]);
  for (const [ns, dev, a4, a6] of [[HOST_NS, `${veth}h`, HOST4, HOST6], [REMOTE_NS, `${veth}r`, REMOTE4, REMOTE6]] as const) {
    sh(['ip', '-n', ns, 'addr', 'add', `${a4}/24`, 'dev', dev]);
    sh(['ip', '-n', ns, 'addr', 'add', `${a6}/64`, 'dev', dev, 'nodad']);
    sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  }
  const remote = spawnTracked(t, ['python3', REMOTE, String(PORT), '1000'], ['ip', 'netns', 'exec', REMOTE_NS]);
  // The host's loopback: the same server, on 127.0.0.1 and ::1 of the host namespace.
  const hostLoop = spawnTracked(t, ['python3', REMOTE, String(PORT), '0'], ['ip', 'netns', 'exec', HOST_NS]);
  await waitFor(() => remote.stdout().includes('ready') && hostLoop.stdout().includes('ready'), 10_000);
  // The host's loopback server shows the clients it sees: one from the host itself first.
  sh(['ip', 'netns', 'exec', HOST_NS, 'python3', '-c', `import socket; socket.create_connection(('127.0.0.1', ${PORT})).recv(99)`]);
  await waitFor(() => hostLoop.stdout().includes('from 127.0.0.1'), 5000);
  const seen = (hostLoop.stdout().match(/^from .*$/gm) ?? []).length;
  t.equal(seen, 1, 'the host\'s loopback server shows its clients');
  return { hostLoopClients: () => (hostLoop.stdout().match(/^from .*$/gm) ?? []).slice(seen) };
}

export interface Step {
  step: string;
  local?: [string, number];
  reply?: string;
  error?: string;
  [k: string]: unknown;
}

/**
 * Runs the client steps as rootlesskit's CMD in the host namespace; at each
 * "HOLD" step the client waits while holds[i] runs. Returns each step's result by name.
 */
export async function rk(t: Test, flags: string[], steps: string[], holds: Array<(rk: Proc, state: string) => Promise<void>> = []): Promise<Map<string, Step>> {
  const dir = tempDir();
  const state = `${dir}/s`;
  let h = 0;
  const all = steps.map((s) => (s === 'HOLD' ? `hold,${dir}/go${h++}` : s));
  const p = spawnTracked(t, ['env', 'RK_TEST_DNS_UPSTREAM=127.0.0.1:9', 'rootlesskit', '--state-dir', state, '--net=builtin', ...flags, 'python3', CLIENT, ...all], ['ip', 'netns', 'exec', HOST_NS]);
  for (let i = 0; i < holds.length; i++) {
    await waitFor(() => (p.stdout().match(/holding/g) ?? []).length > i || !p.isRunning(), 60_000);
    await holds[i]!(p, state);
    writeFileSync(`${dir}/go${i}`, '');
  }
  await Promise.race([p.exited, new Promise((r) => setTimeout(r, 60_000).unref())]);
  t.match(p.stdout(), /done/, `the clients ran (${p.stderr().slice(-500)})`);
  t.notOk(existsSync(state), 'the state dir (bypass.sock included) is gone at exit');
  const got = new Map<string, Step>();
  for (const l of p.stdout().split('\n')) if (l.startsWith('{')) got.set((JSON.parse(l) as Step).step, JSON.parse(l) as Step);
  return got;
}

export const tcp4 = `tcp,${REMOTE4},${PORT}`;
export const udp4 = `udp,${REMOTE4},${PORT}`;

