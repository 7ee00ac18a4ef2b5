// The restart budget every driver shares: what it answers and what it logs.
import t from 'tap';
import { Logger } from '@rk/cli';
import { RestartBudget } from '../src/restarts.js';

/** A Logger whose lines are kept instead of written to stderr. */
function captured(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = new Logger('[rootlesskit:parent]');
  log.warn = (m) => void lines.push(`warning: ${m}`);
  log.error = (m) => void lines.push(`error: ${m}`);
  return { log, lines };
}

t.test('restarts up to the burst, then gives up once, with CMD named as still running', async (t) => {
  const { log, lines } = captured();
  const b = new RestartBudget('slirp4netns', log, 3, 60_000);
  t.equal(b.restarts, 0);
  t.same([b.next('killed by SIGKILL'), b.next('killed by SIGKILL'), b.next('exited with status 1')], [true, true, true]);
  t.equal(b.restarts, 3);
  t.same(lines, [
    'warning: slirp4netns died (killed by SIGKILL): restarting (restart 1)',
    'warning: slirp4netns died (killed by SIGKILL): restarting (restart 2)',
    'warning: slirp4netns died (exited with status 1): restarting (restart 3)',
  ]);
  t.equal(b.next('killed by SIGSEGV'), false);
  t.equal(b.next('killed by SIGSEGV'), false, 'stays given up');
  t.equal(b.restarts, 3);
  t.same(lines.slice(3), ['error: slirp4netns died (killed by SIGSEGV): it was restarted 3 times within 60 s: giving up on it; CMD keeps running without network'], 'logged once');
});

t.test('deaths spread wider than the window are restarted for ever', async (t) => {
  const { log, lines } = captured();
  const b = new RestartBudget('pasta', log, 2, 40);
  for (let i = 0; i < 5; i++) {
    t.equal(b.next(`death ${i}`), true, `death ${i}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  t.equal(b.restarts, 5);
  t.equal(lines.length, 5);
  t.match(lines[4], /pasta died \(death 4\): restarting \(restart 5\)/);
});

t.test('the defaults: 5 restarts within 30 s', async (t) => {
  const { log, lines } = captured();
  const b = new RestartBudget('vde_plug', log);
  for (let i = 0; i < 5; i++) t.equal(b.next('x'), true);
  t.equal(b.next('x'), false);
  t.match(lines.at(-1), /restarted 5 times within 30 s/);
});

t.test('a budget of 0: a helper that cannot be restarted is given up on at its first death', async (t) => {
  const { log, lines } = captured();
  const b = new RestartBudget('vpnkit', log, 0);
  t.equal(b.next('exited with status 2'), false);
  t.same(lines, ['error: vpnkit died (exited with status 2): it is not restarted; CMD keeps running without network']);
});
