// Helpers for the network driver tests: loopback test servers, network
// namespaces the test makes as root (a private "host" for pasta and the
// bridge for lxc-user-nic), and running the user's commands inside them.
// Traffic only ever goes to loopback or to those namespaces.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { asUser, isRoot, repoRoot, run, type RunResult } from './harness.js';

export const fixtures = join(repoRoot, 'test/fixtures');
export const fakeVpnkit = join(fixtures, 'fake-vpnkit.mjs');

/** A TCP port free on the host's loopback now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Servers {
  port: number;
  stop(): void;
}

/** HTTP and UDP echo servers (fixtures/servers.mjs) on loopback, or in netns `ns` on `addrs`. */
export async function startServers(port: number, opts: { ns?: string; addrs?: string[] } = {}): Promise<Servers> {
  const argv = [...(opts.ns ? ['ip', 'netns', 'exec', opts.ns] : []), process.execPath, join(fixtures, 'servers.mjs'), String(port), ...(opts.addrs ?? [])];
  const p = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    p.once('exit', (code) => reject(new Error(`servers.mjs exited (${code})`)));
    p.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
  });
  p.removeAllListeners('exit');
  return { port, stop: () => p.kill('SIGKILL') };
}

/** Runs a root command; throws with its stderr on failure. */
export function sh(cmd: string): string {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return r.stdout;
}

/** A network namespace made by the test (root only), removed by destroy(). */
export class TestNetns {
  readonly name: string;
  private readonly procs: ChildProcess[] = [];

  constructor(prefix: string) {
    this.name = `${prefix}-${process.pid}`;
    spawnSync('ip', ['netns', 'del', this.name]);
    sh(`ip netns add ${this.name} && ip -n ${this.name} link set lo up`);
  }

  ip(args: string): void {
    sh(`ip -n ${this.name} ${args}`);
  }

  /** A root process kept in the namespace until destroy(). */
  background(argv: string[]): ChildProcess {
    const p = spawn('ip', ['netns', 'exec', this.name, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.procs.push(p);
    return p;
  }

  /** Runs argv as the test user inside the namespace. */
  run(argv: string[], timeout = 60_000): RunResult {
    const full = ['ip', 'netns', 'exec', this.name, ...asUser(argv)];
    const r = spawnSync(full[0]!, full.slice(1), { encoding: 'utf8', timeout, cwd: '/', input: '' });
    return { code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /** Starts argv as the test user inside the namespace, in the background. */
  start(argv: string[]): ChildProcess {
    const full = ['ip', 'netns', 'exec', this.name, ...asUser(argv)];
    return spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd: '/' });
  }

  destroy(): void {
    for (const p of this.procs) p.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', this.name]);
  }
}

/** Runs argv as the test user on the host, or in `ns` when given. */
export function runNet(argv: string[], ns?: TestNetns): RunResult {
  return ns ? ns.run(argv) : run(argv);
}

export const rootOnly = isRoot ? false : 'needs root to make its own network namespaces';

/** Waits for a child process to exit: its code (or 128+signal). */
export function exited(p: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    if (p.exitCode !== null) resolve(p.exitCode);
    else p.once('exit', (code, sig) => resolve(code ?? 128 + (sig ? 9 : 0)));
  });
}

/** Collects a child's stderr. */
export function stderrOf(p: ChildProcess): () => string {
  let s = '';
  p.stderr?.on('data', (d: Buffer) => (s += d.toString()));
  return () => s;
}

/**
 * The shell pipeline: rk-unshare held at the gate, rk-idmap, then rk-net
 * --release; prints CMD's output (CMD sees the state dir as $S), the exit
 * statuses, and what is left in the state dir afterwards.
 */
export function pipelineScript(netArgs: string, cmd: string): string {
  return [
    'set -e',
    'D=$(mktemp -d /tmp/rk-net-test-XXXXXX); export S=$D/s',
    `rk-unshare --user --mount --net --gate --state-dir $S -- sh -c '${cmd.replace(/'/g, `'\\''`)}' > $D/out 2>&1 &`,
    'U=$!',
    'while [ ! -e $S/child_pid ]; do sleep 0.02; done',
    'rk-idmap --state-dir $S',
    `rk-net ${netArgs} --state-dir $S --release 2> $D/err &`,
    'N=$!',
    'set +e',
    'wait $U; echo "cmd-exit $?"',
    'wait $N; echo "rk-net-exit $?"',
    'cat $D/out; cat $D/err >&2; echo "--- left"; ls -A $S 2>/dev/null',
    'rm -rf $D',
  ].join('\n');
}
