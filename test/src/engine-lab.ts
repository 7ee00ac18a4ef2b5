// A closed lab for attacking the builtin NAT engine with raw frames
// (engine-attacks.test.ts, engine-fuzz.test.ts): as root, a network namespace
// of the test's own with only loopback (plus 192.0.2.1/32 on lo, a
// non-loopback address of that "host"), so nothing the engine sends can
// leave this machine. In it: an HTTP + UDP echo server (the host services a
// container reaches through 10.0.2.2), a "localhost only" witness that logs
// every visit, and rootlesskit --net=builtin run as the test user with a CMD
// that serves port 80 inside, waits for the test, runs the attack
// (test/fixtures/rawframe.py), then opens a new outbound connection.
import type { Test } from 'tap';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, tempDir, waitFor } from './harness.js';
import { fixtures, TestNetns } from './net-harness.js';

export const RAWFRAME = join(fixtures, 'rawframe.py');
/** Ports inside the lab's own namespace (nothing else listens there). */
export const HOST_PORT = 18080; // servers.mjs: HTTP "rk-net-ok PATH" and UDP echo, on 127.0.0.1, ::1, 192.0.2.1
export const WITNESS_PORT = 18090; // witness.mjs on 127.0.0.1, 127.1.2.3, ::1
export const PUBLISHED = 18100; // -p 127.0.0.1:18100:80/tcp
export const LAB_ADDR = '192.0.2.1';
/** Exit code of the lab's CMD when it ran to the end. */
export const CMD_EXIT = 42;

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class EngineLab {
  readonly ns: TestNetns;
  private readonly witness: ChildProcess;
  private witnessLog = '';

  private constructor(ns: TestNetns, witness: ChildProcess) {
    this.ns = ns;
    this.witness = witness;
    witness.stdout!.on('data', (d: Buffer) => (this.witnessLog += d.toString()));
  }

  /** Makes the namespace and starts its servers; destroyed at the end of `t`. */
  static async open(t: Test, prefix: string): Promise<EngineLab> {
    const ns = new TestNetns(prefix);
    t.teardown(() => ns.destroy());
    ns.ip(`addr add ${LAB_ADDR}/32 dev lo`);
    // ICMP echo through the engine uses ping sockets: allow them for every group here (off in a new netns).
    spawnSync('ip', ['netns', 'exec', ns.name, 'sysctl', '-qw', 'net.ipv4.ping_group_range=0 2147483647']);
    const lab = new EngineLab(ns, ns.background([process.execPath, join(fixtures, 'witness.mjs'), String(WITNESS_PORT), '127.0.0.1', '127.1.2.3', '::1']));
    const servers = ns.background([process.execPath, join(fixtures, 'servers.mjs'), String(HOST_PORT), '127.0.0.1', '::1', LAB_ADDR]);
    let serversOut = '';
    servers.stdout!.on('data', (d: Buffer) => (serversOut += d.toString()));
    await waitFor(() => serversOut.includes('ready') && lab.witnessLog.includes('ready'), 10_000);
    lab.witnessLog = '';
    return lab;
  }

  /** The witness's log since the last call (one line per TCP connection or UDP datagram it got). */
  takeWitnessLog(): string[] {
    const lines = this.witnessLog.split('\n').filter(Boolean);
    this.witnessLog = '';
    return lines;
  }

  /** Runs a root command in the lab's namespace (a client of the published port, as a user would). */
  exec(argv: string[], timeout = 10_000): { code: number | null; stdout: string; stderr: string } {
    const r = spawnSync('ip', ['netns', 'exec', this.ns.name, ...argv], { encoding: 'utf8', timeout });
    return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /**
   * Starts rootlesskit --net=builtin (FLAGS added) as the test user in the lab,
   * with RLIMIT_NOFILE capped at `nofile` (default 20 000, the limit of the
   * report in issue 13). Its CMD waits for go(), then runs `attack` (shell,
   * stdout kept as the attack's JSON) and a new outbound HTTP request.
   */
  async start(t: Test, flags: string[], attack: string, opts: { nofile?: number; outbound?: string } = {}): Promise<EngineRun> {
    const dir = tempDir('rk-engine-');
    const state = join(dir, 's');
    const loopback = !flags.includes('--disable-host-loopback');
    const outbound = opts.outbound ?? `http://${loopback ? '10.0.2.2' : LAB_ADDR}:${HOST_PORT}/outbound`;
    const cmd = [
      `D=${dir}`,
      `node ${q(join(fixtures, 'servers.mjs'))} 80 0.0.0.0 > $D/inner.log 2>&1 &`,
      // The server ends with CMD (no --pidns here: it would outlive rootlesskit).
      "S=$!; trap 'kill $S 2>/dev/null' EXIT",
      'i=0; until grep -q ready $D/inner.log; do i=$((i+1)); [ $i -gt 400 ] && exit 90; sleep 0.05; done',
      ': > $D/up',
      'until [ -e $D/go ]; do sleep 0.02; done',
      `(${attack}) > $D/attack.json 2> $D/attack.err`,
      ': > $D/attacked',
      `curl -sS -m 2 -o $D/outbound.body -w '%{http_code} %{time_total}' ${outbound} > $D/outbound 2>&1`,
      ': > $D/outbound.done',
      'until [ -e $D/finish ]; do sleep 0.02; done',
      `exit ${CMD_EXIT}`,
    ].join('\n');
    const hard = Number(run(['sh', '-c', 'ulimit -Hn']).stdout.trim()) || 20_000;
    const nofile = Math.min(hard, opts.nofile ?? 20_000);
    const argv = ['env', 'RK_TEST_DNS_UPSTREAM=127.0.0.1:' + HOST_PORT, 'prlimit', `--nofile=${nofile}:${nofile}`, '--',
      'rootlesskit', '--state-dir', state, '--net=builtin', ...flags, '--port-driver=builtin', '-p', `127.0.0.1:${PUBLISHED}:80/tcp`,
      '--copy-up=/etc', 'sh', '-c', cmd];
    const child = this.ns.start(argv);
    const er = new EngineRun(this, child, dir, state, nofile);
    t.teardown(() => er.kill());
    await er.phase('up', 20_000);
    return er;
  }
}

export interface ProcUse {
  pid: number;
  comm: string;
  fds: number;
  limit: number;
  rssKiB: number;
}

export class EngineRun {
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  private out = '';
  private err = '';
  private done = false;
  readonly pid: number;

  constructor(readonly lab: EngineLab, private readonly child: ChildProcess, readonly dir: string, readonly state: string, readonly nofile: number) {
    this.pid = child.pid!;
    child.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.err += d.toString()));
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
      this.done = true;
      resolve({ code, signal });
    }));
  }

  running(): boolean {
    return !this.done;
  }

  stderr(): string {
    return this.err;
  }

  /** Waits for the CMD's marker file `name` (true), or rootlesskit's exit (false). */
  async phase(name: string, ms: number): Promise<boolean> {
    await waitFor(() => existsSync(join(this.dir, name)) || this.done, ms).catch(() => {});
    return existsSync(join(this.dir, name)) && !this.done;
  }

  go(): void {
    run(['touch', join(this.dir, 'go')]);
  }

  finish(): void {
    run(['touch', join(this.dir, 'finish')]);
  }

  /** The attack's JSON line (rawframe.py's report), or its stderr. */
  attack(): Record<string, unknown> {
    const f = join(this.dir, 'attack.json');
    const text = existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').pop() ?? '' : '';
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      const e = join(this.dir, 'attack.err');
      return { error: (existsSync(e) ? readFileSync(e, 'utf8') : 'no output').slice(-400) };
    }
  }

  /** rootlesskit and its descendants outside CMD's tree (the engine, when it is a process of its own). */
  processes(): ProcUse[] {
    let cmdPid = 0;
    try {
      cmdPid = Number(readFileSync(join(this.state, 'child_pid'), 'utf8'));
    } catch {
      // not written (yet)
    }
    const parent = new Map<number, number>();
    for (const e of readdirSync('/proc')) {
      if (!/^\d+$/.test(e)) continue;
      try {
        const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
        parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      } catch {
        // gone
      }
    }
    const inTree = (p: number): boolean => {
      for (let q = p, n = 0; q > 1 && n < 64; q = parent.get(q) ?? 0, n++) {
        if (q === cmdPid) return false;
        if (q === this.pid) return true;
      }
      return false;
    };
    const out: ProcUse[] = [];
    for (const p of parent.keys()) {
      if (!inTree(p)) continue;
      try {
        const limits = readFileSync(`/proc/${p}/limits`, 'utf8').match(/^Max open files\s+(\d+)/m);
        const rss = readFileSync(`/proc/${p}/status`, 'utf8').match(/^VmRSS:\s+(\d+)/m);
        out.push({
          pid: p,
          comm: readFileSync(`/proc/${p}/comm`, 'utf8').trim(),
          fds: readdirSync(`/proc/${p}/fd`).length,
          limit: Number(limits?.[1] ?? 0),
          rssKiB: Number(rss?.[1] ?? 0),
        });
      } catch {
        // exited meanwhile
      }
    }
    return out;
  }

  rssKiB(): number {
    return this.processes().reduce((s, p) => s + p.rssKiB, 0);
  }

  /** SIGKILL rootlesskit (teardown). */
  async kill(): Promise<void> {
    if (this.done) return;
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch {
      // gone
    }
    await Promise.race([this.exited, sleep(5000)]);
  }
}

/** Waits for the end of the attack: true while rootlesskit still runs (else a failed assertion with its exit). */
export async function attacked(t: Test, er: EngineRun, what: string): Promise<boolean> {
  const up = await er.phase('attacked', 90_000);
  t.ok(up, `${what}: rootlesskit still running after the attack${up ? '' : ` — it exited ${JSON.stringify(await er.exited)}: ${tail(er.stderr())}`}`);
  t.comment(`${what}: ${JSON.stringify(er.attack())}`);
  return up;
}

/** What a user sees right after an attack: the API, the published port, a new outbound connection. */
export async function checkUsable(t: Test, er: EngineRun, what: string): Promise<void> {
  const api = run(['curl', '-sS', '-m', '2', '--unix-socket', join(er.state, 'api.sock'), 'http://rootlesskit/v1/info'], { timeout: 5000 });
  let driver = '';
  try {
    driver = (JSON.parse(api.stdout) as { networkDriver?: { driver?: string } }).networkDriver?.driver ?? '';
  } catch {
    driver = `(${api.stdout}${api.stderr})`.trim();
  }
  t.equal(driver, 'builtin', `${what}: the API answers GET /v1/info within 2 s`);
  const port = er.lab.exec(['curl', '-sS', '-m', '2', `http://127.0.0.1:${PUBLISHED}/published`]);
  t.equal(port.stdout + port.stderr.trim(), 'rk-net-ok /published\n', `${what}: the published port 127.0.0.1:${PUBLISHED} -> 80 forwards bytes`);
  const out = await er.phase('outbound.done', 10_000);
  const res = out ? readFileSync(join(er.dir, 'outbound'), 'utf8').trim() : '(no result)';
  const body = existsSync(join(er.dir, 'outbound.body')) ? readFileSync(join(er.dir, 'outbound.body'), 'utf8') : '';
  t.match(`${res} ${body}`, /^200 \d+\.\d+ rk-net-ok \/outbound\n/, `${what}: a new outbound connection from inside works within 2 s (${res})`);
}

/** Lets CMD end: rootlesskit must exit with CMD's own code. */
export async function checkEnd(t: Test, er: EngineRun, what: string): Promise<void> {
  er.finish();
  const end = await Promise.race([er.exited, sleep(10_000).then(() => ({ code: null, signal: 'timeout' }))]);
  t.same(end, { code: CMD_EXIT, signal: null }, `${what}: CMD ran to its end; rootlesskit exited with CMD's code`);
}

/** attacked + checkUsable + checkEnd. */
export async function checkSurvived(t: Test, er: EngineRun, what: string): Promise<void> {
  if (!(await attacked(t, er, what))) return;
  await checkUsable(t, er, what);
  await checkEnd(t, er, what);
}

/** Attack JSON + stderr for diagnostics. */
export function tail(s: string, n = 600): string {
  s = s.split('\n').filter((l) => l !== '' && !/highly recommended|Slirp-CRITICAL/.test(l)).join('\n') || '(no stderr)';
  return s.length > n ? `…${s.slice(-n)}` : s;
}

/** argv of rawframe.py as CMD runs it (inside, as the namespace's root). */
export function rawframe(...args: string[]): string {
  return ['python3', q(RAWFRAME), ...args.map(q)].join(' ');
}

export { sleep };
