// Helpers for the port-forwarding tests: clients that report what came
// back, the test servers of fixtures/servers.mjs started inside a fresh
// namespace (as the test user), and rk-portfwd started and waited for.
import type { Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { asUser, binDir, repoRoot, run, start, tempDir, waitFor } from './harness.js';

export const SERVERS = join(repoRoot, 'test/src/fixtures/servers.mjs');

/** A port free on 127.0.0.1 and ::1 right now (the kernel's pick). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
      s.on('error', reject);
    });
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer().listen(port, '::1', () => s.close(() => resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok && port < 65000) return port;
  }
}

/** A base port with `n` consecutive ports free (TCP, on 127.0.0.1 and ::1). */
export async function freePorts(n: number): Promise<number> {
  for (;;) {
    const base = 20000 + Math.floor(Math.random() * 40000);
    let ok = true;
    for (let i = 0; i < n && ok; i++) {
      ok = await new Promise<boolean>((resolve) => {
        const s = createServer().listen(base + i, '::', () => s.close(() => resolve(true)));
        s.on('error', () => resolve(false));
      });
    }
    if (ok) return base;
  }
}

/** Connects, writes data, half-closes, and resolves with all that came back (or rejects with the error code). */
export function tcpExchange(port: number, host: string, data: Buffer | string = ''): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const c: Socket = connect(port, host);
    const chunks: Buffer[] = [];
    c.on('connect', () => c.end(data));
    c.on('data', (d: Buffer) => chunks.push(d));
    c.on('error', (e: NodeJS.ErrnoException) => reject(Object.assign(new Error(e.code ?? e.message), { code: e.code })));
    c.on('close', (hadError) => {
      if (!hadError) resolve(Buffer.concat(chunks));
    });
    c.setTimeout(20_000, () => c.destroy(Object.assign(new Error('ETIMEDOUT'), { code: 'ETIMEDOUT' })));
  });
}

/** Resolves once something accepts TCP connections on host:port (bounded). */
export async function waitListening(port: number, host: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, host);
      c.on('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listens on ${host}:${port}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Sends one datagram and resolves with the reply (undefined after timeoutMs). */
export function udpAsk(port: number, host: string, payload: string, timeoutMs = 3000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      s.close();
      resolve(undefined);
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m.toString());
    });
    s.send(payload, port, host);
  });
}

/** GET url; resolves with the status and body. */
export function httpGet(host: string, port: number, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Bytes 0..n-1 of a fixed pseudo-random sequence (the same for every call). */
export function pattern(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

export interface Proc {
  child: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
  isRunning(): boolean;
}

/** Starts argv as the test user in its own process group; killed at teardown. */
export function spawnTracked(t: Test, argv: string[], prefix: string[] = []): Proc {
  const child = prefix.length > 0 ? startWithPrefix(prefix, argv) : start(argv, { detached: true });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  let running = true;
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => {
    running = false;
    if (signal) err += `\n[killed by ${signal}]`;
    resolve(code);
  }));
  t.teardown(async () => {
    if (!running) return;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone
    }
    await exited;
  });
  return { child, pid: child.pid!, stdout: () => out, stderr: () => err, exited, isRunning: () => running };
}

/** Root only: argv as the test user behind a prefix (e.g. "ip netns exec NAME"). */
function startWithPrefix(prefix: string[], argv: string[]): ChildProcess {
  const full = [...prefix, ...asUser(argv)];
  return spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd: '/', detached: true });
}

export interface NsServers {
  /** The namespace's process (rk-unshare's child: node servers.mjs). */
  pid: number;
  stateDir: string;
  proc: Proc;
}

/** fixtures/servers.mjs on `base` in a fresh user+net namespace (only lo) made by rk-unshare as the test user. */
export async function nsServers(t: Test, base: number, prefix: string[] = []): Promise<NsServers> {
  const dir = tempDir('rk-pf-ns-');
  t.teardown(() => {
    run(['rm', '-rf', dir]);
  });
  const stateDir = join(dir, 'state');
  const proc = spawnTracked(t, ['rk-unshare', '--user', '--net', '--map-auto', '--state-dir', stateDir, '--', 'node', SERVERS, String(base)], prefix);
  await waitFor(() => proc.stdout().includes('ready') || !proc.isRunning(), 20_000);
  if (!proc.isRunning()) throw new Error(`rk-unshare exited: ${proc.stderr()}`);
  const pid = Number(readFileSync(join(stateDir, 'child_pid'), 'utf8'));
  return { pid, stateDir, proc };
}

/** rk-portfwd --debug ARGS as the test user, resolved once `ports` ports listen (or it exits). */
export async function portfwd(t: Test, args: string[], ports: number, prefix: string[] = []): Promise<Proc> {
  const gdb = process.env.RK_PF_GDB ? ['gdb', '-q', '-batch', '-ex', 'run', '-ex', 'thread apply all bt', '--args', 'node', `${binDir}/rk-portfwd`] : ['rk-portfwd'];
  const p = spawnTracked(t, [...gdb, '--debug', ...args], prefix);
  const count = () => (p.stderr().match(/ listens on | forwarded by slirp4netns /g) ?? []).length;
  await waitFor(() => count() >= ports || !p.isRunning(), 20_000);
  return p;
}

/** Number of open fds of a process. */
export function fdCount(pid: number): number {
  const r = run(['ls', `/proc/${pid}/fd`]);
  return r.stdout.split('\n').filter((l) => l !== '').length;
}

/** Connects to a socket file (a path) or a TCP port on host, sends data, half-closes; resolves with what came back, or the error code. */
export function exchange(to: string | number, data: Buffer | string, host = '127.0.0.1'): Promise<Buffer | string> {
  return new Promise((resolve) => {
    const c = typeof to === 'string' ? connect(to) : connect(to, host);
    const parts: Buffer[] = [];
    c.on('connect', () => c.end(data));
    c.on('data', (d) => parts.push(d));
    c.on('close', () => resolve(Buffer.concat(parts)));
    c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    c.setTimeout(20_000, () => c.destroy(Object.assign(new Error('ETIMEDOUT'), { code: 'ETIMEDOUT' })));
  });
}

/** curl-less HTTP over a unix socket (the ports API): method, path, body -> status and text. */
export function apiCall(sock: string, method: string, path: string, body?: string | Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: sock, method, path, headers: body !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}
