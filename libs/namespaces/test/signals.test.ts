// forwardSignals: a signal sent to us reaches the command (as with upstream's
// sigproxy); the returned function puts our own handling back.
import t, { type Test } from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Child, forwardSignals } from '../src/index.js';

function scratch(t: Test): string {
  const d = mkdtempSync(join(tmpdir(), 'rk-ns-sig-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** sh that writes `ready`, then exits with 10 + the number of the first trapped signal it gets. */
function trapper(t: Test, dir: string): Child {
  const script = `trap 'echo USR1 > "$0/got"; exit 11' USR1; trap 'echo HUP > "$0/got"; exit 12' HUP
echo > "$0/ready"
while :; do sleep 1 & wait $!; done`;
  const c = new Child({ file: '/bin/sh', argv: ['sh', '-c', script, dir], env: ['PATH=/usr/bin:/bin'], namespaces: {} });
  let ended = false;
  void c.exited.then(() => (ended = true));
  t.teardown(() => (ended ? undefined : c.kill()));
  return c;
}

t.test('SIGUSR1 sent to us is forwarded to the command', async (t) => {
  const dir = scratch(t);
  const c = trapper(t, dir);
  await waitFor(() => existsSync(join(dir, 'ready')), 'the trap to be set');
  const before = process.listenerCount('SIGUSR1');
  const seen: string[] = [];
  const stop = forwardSignals(c.pid, (sig) => seen.push(sig));
  t.equal(process.listenerCount('SIGUSR1'), before + 1, 'a listener while forwarding');
  try {
    process.kill(process.pid, 'SIGUSR1');
    t.same(await c.exited, { code: 11, signal: null }, 'the command got it');
    t.equal(readFileSync(join(dir, 'got'), 'utf8'), 'USR1\n');
    t.same(seen, ['SIGUSR1'], 'onSignal is told');
  } finally {
    stop();
  }
  t.equal(process.listenerCount('SIGUSR1'), before, 'stop() removes the listener again');
});

t.test('other signals too (SIGHUP); CHLD, PIPE and the unhandleable are not listened to', async (t) => {
  const dir = scratch(t);
  const c = trapper(t, dir);
  await waitFor(() => existsSync(join(dir, 'ready')), 'the trap to be set');
  const counts = (names: string[]) => names.map((n) => process.listenerCount(n));
  const never = ['SIGCHLD', 'SIGPIPE', 'SIGSEGV', 'SIGBUS', 'SIGFPE', 'SIGILL'];
  const forwarded = ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGQUIT', 'SIGUSR2', 'SIGWINCH', 'SIGCONT', 'SIGTSTP'];
  const before = counts([...never, ...forwarded]);
  const stop = forwardSignals(c.pid);
  try {
    t.same(counts(never), before.slice(0, never.length), 'not forwarded: ' + never.join(' '));
    t.same(counts(forwarded), before.slice(never.length).map((n) => n + 1), 'forwarded: ' + forwarded.join(' '));
    process.kill(process.pid, 'SIGHUP');
    t.same(await c.exited, { code: 12, signal: null });
    t.equal(readFileSync(join(dir, 'got'), 'utf8'), 'HUP\n');
  } finally {
    stop();
  }
  t.same(counts([...never, ...forwarded]), before, 'all removed');
});

t.test('a command that is gone: forwarding is quiet', async (t) => {
  // pid_max itself is never a PID: a process that cannot exist
  const gone = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  const seen: string[] = [];
  const stop = forwardSignals(gone, (s) => seen.push(s));
  try {
    // signal handles do not keep the event loop alive: a timer does, until it arrives
    let timer: NodeJS.Timeout | undefined;
    const got = new Promise((r) => {
      timer = setTimeout(r, 5000);
      process.once('SIGUSR2', r);
    });
    process.kill(process.pid, 'SIGUSR2');
    await got;
    clearTimeout(timer);
    t.same(seen, ['SIGUSR2'], 'handled without throwing');
  } finally {
    stop();
  }
});
