// A driver's helper under watch: when it dies by itself it is started again
// on the same namespace (same tap name, same sockets) as long as the restart
// budget allows (restarts.ts); then the driver gives up (its `ended`
// settles) and CMD keeps running without network. A helper that cannot be
// restarted is given up on at its first death, with the same message.
import type { Logger } from '@rk/cli';
import { RestartBudget } from './restarts.js';
import { holdTarget } from './target.js';
import type { NetInfo, NetTarget, RunningNet } from './types.js';

/** One run of a helper. */
export interface Incarnation {
  pid?: number;
  /** Settles with how it died ("killed by SIGKILL"); ignored after stop(). */
  died: Promise<string>;
  /** Stops it and waits (idempotent). */
  stop(): Promise<void>;
}

export interface SuperviseOptions {
  /** The helper's name for the log lines, e.g. "slirp4netns". */
  what: string;
  info: NetInfo;
  log: Logger;
  first: Incarnation;
  /** Starts a new one in the dead one's place; absent: not restarted. */
  restart?: () => Promise<Incarnation>;
  /** Lets go of what was kept for restarts (namespace fds), after stop() or giving up. */
  release?: () => void;
}

export function supervise(o: SuperviseOptions): RunningNet {
  const budget = new RestartBudget(o.what, o.log, o.restart ? undefined : 0);
  const hooks: Array<() => void | Promise<void>> = [];
  const lastHooks: Array<() => void | Promise<void>> = [];
  let current = o.first;
  let stopped = false;
  let busy: Promise<void> = Promise.resolve();
  let settle!: (why: string) => void;
  const ended = new Promise<string>((resolve) => (settle = resolve));
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    o.release?.();
  };

  const replace = async (reason: string): Promise<void> => {
    let why = reason;
    while (!stopped && budget.next(why)) {
      let inc: Incarnation;
      try {
        inc = await o.restart!();
      } catch (e) {
        why = `its restart failed: ${(e as Error).message}`;
        continue;
      }
      if (stopped) {
        await inc.stop();
        return;
      }
      watch(inc);
      o.log.debug(`${o.what} restarted (pid ${inc.pid ?? '-'}, restart ${budget.restarts})`);
      for (const cb of [...hooks, ...lastHooks]) {
        try {
          await cb();
        } catch (e) {
          o.log.warn(`after restarting ${o.what}: ${(e as Error).message}`);
        }
      }
      return;
    }
    if (stopped) return;
    release();
    settle(`${o.what} died (${why}) and was given up on`);
  };

  const watch = (inc: Incarnation) => {
    current = inc;
    if (inc.pid !== undefined) o.info.helperPid = inc.pid;
    void inc.died.then((reason) => {
      if (stopped || inc !== current) return;
      // What the dead one still held (e.g. the tap, in a frame pump) goes first: the new one makes it again.
      busy = inc.stop().then(() => replace(reason));
    });
  };
  watch(o.first);

  return {
    info: o.info,
    ended,
    onRestart(cb, last) {
      (last ? lastHooks : hooks).push(cb);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      settle('stopped');
      await busy;
      await current.stop();
      release();
    },
  };
}

/**
 * A helper that joins the namespace by its target (slirp4netns, pasta,
 * vde_plug): the target is held by fds of our own, and a restart first
 * checks that the namespace is still where the helper's paths lead, runs
 * `beforeRestart` (e.g. removing a dead one's stale socket), then launches
 * a new one on it.
 */
export function superviseOnTarget(
  t: NetTarget,
  o: Omit<SuperviseOptions, 'restart' | 'release'> & { launch: (target: NetTarget) => Promise<Incarnation>; beforeRestart?: (held: ReturnType<typeof holdTarget>) => void },
): RunningNet {
  const held = holdTarget(t);
  return supervise({
    what: o.what,
    info: o.info,
    log: o.log,
    first: o.first,
    async restart() {
      held.checkInPlace();
      o.beforeRestart?.(held);
      return o.launch(held);
    },
    release: () => held.close(),
  });
}
