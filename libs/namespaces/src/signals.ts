import { constants } from 'node:os';

/** Signals never forwarded: the ones about our own state, and those Node cannot handle. */
const NOT_FORWARDED = new Set([
  'SIGCHLD', 'SIGPIPE', 'SIGURG', 'SIGKILL', 'SIGSTOP',
  'SIGSEGV', 'SIGBUS', 'SIGFPE', 'SIGILL', 'SIGPROF', 'SIGVTALRM', 'SIGIOT', 'SIGPOLL', 'SIGUNUSED', 'SIGSYS', 'SIGTRAP', 'SIGABRT',
]);

/**
 * Every signal we receive (but CHLD, PIPE, URG, the unhandleable, and those in
 * `ignored`: the caller ignored them, so we and CMD do too) is sent on to `pid`.
 */
export function forwardSignals(pid: number, onSignal?: (sig: NodeJS.Signals) => void, ignored: ReadonlySet<string> = new Set()): () => void {
  const handlers: Array<[NodeJS.Signals, () => void]> = [];
  for (const name of Object.keys(constants.signals) as NodeJS.Signals[]) {
    if (NOT_FORWARDED.has(name) || ignored.has(name)) continue;
    const h = () => {
      onSignal?.(name);
      try {
        process.kill(pid, name);
      } catch {
        // already gone
      }
    };
    try {
      process.on(name, h);
      handlers.push([name, h]);
    } catch {
      // this platform does not let us listen for it
    }
  }
  return () => {
    for (const [name, h] of handlers) process.off(name, h);
  };
}
