// Helpers for integration tests: run the real commands as the unprivileged
// test user (RK_TEST_USER, default "rktest") when the tests run as root, or
// as the current user otherwise.
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The commands under test: this checkout's, or another's (RK_TEST_BIN_DIR, e.g. to show a test fails on older code). */
export const binDir = process.env.RK_TEST_BIN_DIR ?? join(repoRoot, 'node_modules/.bin');
export const testUser = process.env.RK_TEST_USER ?? 'rktest';
export const isRoot = process.getuid?.() === 0;

function idOf(flag: '-u' | '-g'): number {
  if (!isRoot) return flag === '-u' ? process.getuid!() : process.getgid!();
  return Number(execFileSync('id', [flag, testUser]).toString().trim());
}
/** uid and gid of the user the commands run as. */
export const testUid = idOf('-u');
export const testGid = idOf('-g');
export const testUserName = isRoot ? testUser : execFileSync('id', ['-un']).toString().trim();

/** Environment for commands run as the test user. */
export function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = isRoot
    ? {
        PATH: `${binDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
        HOME: `/home/${testUser}`,
        USER: testUser,
        LOGNAME: testUser,
        LANG: 'C.UTF-8',
        TMPDIR: '/tmp',
      }
    : { ...process.env, PATH: `${binDir}:${process.env.PATH}` };
  return { ...base, ...extra };
}

/** argv prefix that switches to the test user (empty when not root). */
export function asUser(argv: string[], user = testUser): string[] {
  if (!isRoot) {
    // Never run a command meant for another user as ourselves: that test must be skipped (needsRoot).
    if (user !== testUser) throw new Error(`cannot run as ${user} without root: skip this test when not root (needsRoot)`);
    return argv;
  }
  return ['setpriv', `--reuid=${user}`, `--regid=${user}`, '--init-groups', '--reset-env', '--', 'env', ...envArgs(user), ...argv];
}

function envArgs(user: string): string[] {
  const env = userEnv();
  if (user !== testUser) Object.assign(env, { HOME: `/home/${user}`, USER: user, LOGNAME: user });
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

/** A second user the CI set-up creates without subordinate IDs (for the error path). */
export const noSubidUser = process.env.RK_TEST_USER_NOSUBID ?? 'rktest-nosubid';
/** Another local user (no subordinate IDs) that security tests run as the attacker; needs root to switch to. */
export const attackerUser = process.env.RK_TEST_USER_ATTACKER ?? 'rktest-attacker';
/** Why tests that switch to another user are skipped (false when they can run). */
export const needsRoot: string | false = isRoot ? false : 'needs root to run a command as another user';

/** `env A=1 ... argv` with the extra variables last among env's, so that they win over the defaults (e.g. PATH). */
function withEnv(full: string[], argv: string[], extra: NodeJS.ProcessEnv): string[] {
  const at = full.length - argv.length;
  return [...full.slice(0, at), ...Object.entries(extra).map(([k, v]) => `${k}=${v}`), ...full.slice(at)];
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs argv as the test user and waits; commands from node_modules/.bin are on PATH. */
export function run(argv: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeout?: number; cwd?: string; user?: string } = {}): RunResult {
  const full = asUser(argv, opts.user);
  // as root, opts.env goes to the user's command through `env` (setpriv --reset-env clears the rest)
  const env = isRoot ? process.env : userEnv(opts.env);
  const finalArgv = isRoot && opts.env ? withEnv(full, argv, opts.env) : full;
  const r = spawnSync(finalArgv[0]!, finalArgv.slice(1), {
    input: opts.input ?? '',
    env,
    cwd: opts.cwd ?? '/',
    timeout: opts.timeout ?? 60_000,
    encoding: 'utf8',
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Starts argv as the test user in the background (own process group). */
export function start(argv: string[], opts: SpawnOptions & { env?: NodeJS.ProcessEnv; user?: string } = {}) {
  const full = asUser(argv, opts.user);
  const extra = opts.env ?? {};
  const finalArgv = isRoot ? withEnv(full, argv, extra) : full;
  const { user: _user, ...spawnOpts } = opts;
  return spawn(finalArgv[0]!, finalArgv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: '/',
    ...spawnOpts,
    env: isRoot ? process.env : userEnv(extra),
  });
}

const tempDirs: string[] = [];
process.on('exit', () => {
  for (const d of tempDirs) spawnSync('rm', ['-rf', '--one-file-system', d]);
});

/** A fresh directory owned by the test user (removed when the test file's process exits). */
export function tempDir(prefix = 'rk-test-'): string {
  const r = run(['mktemp', '-d', `/tmp/${prefix}XXXXXX`]);
  if (r.code !== 0) throw new Error(`mktemp failed: ${r.stderr}`);
  const dir = r.stdout.trim();
  tempDirs.push(dir);
  return dir;
}

/** Polls until fn() is true (tests only; bounded). */
export async function waitFor(fn: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The subordinate ranges the setup gave the test user, as /proc/self/uid_map would show them. */
export function expectedMap(kind: 'uid' | 'gid'): string {
  const id = kind === 'uid' ? testUid : testGid;
  const r = spawnSync('cat', [`/etc/sub${kind}`], { encoding: 'utf8' });
  const lines = [`0 ${id} 1`];
  let next = 1;
  const seen = new Set<string>();
  for (const l of r.stdout.split('\n')) {
    const [owner, start, count] = l.trim().split(':');
    if (!owner || owner.startsWith('#') || start === undefined || count === undefined) continue;
    if (owner !== testUserName && owner !== String(kind === 'uid' ? testUid : testGid)) continue;
    if (seen.has(`${start}:${count}`)) continue;
    seen.add(`${start}:${count}`);
    lines.push(`${next} ${start} ${count}`);
    next += Number(count);
  }
  return lines.join('\n');
}

/** Normalizes /proc/PID/uid_map text to "a b c" lines. */
export function normMap(text: string): string {
  return text
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).join(' '))
    .join('\n');
}

/**
 * The live processes started by `pid` (its children, theirs, ...), found by
 * their parent PIDs in /proc/N/stat: what a test looks at is what it
 * started, never a process picked by name across the machine (the user's own
 * rootless Docker or slirp4netns must not matter).
 */
export function descendants(pid: number): { pid: number; comm: string }[] {
  const procs: { pid: number; ppid: number; comm: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const [state, ppid] = stat.slice(close + 2).split(' ');
      if (state !== 'Z') procs.push({ pid: Number(name), ppid: Number(ppid), comm: stat.slice(stat.indexOf('(') + 1, close) });
    } catch {
      // gone
    }
  }
  const out: { pid: number; comm: string }[] = [];
  const tree = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) {
      if (!tree.has(p.pid) && tree.has(p.ppid)) {
        tree.add(p.pid);
        out.push({ pid: p.pid, comm: p.comm });
        grew = true;
      }
    }
  }
  return out;
}

export { spawnSync };
