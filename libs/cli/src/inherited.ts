// What the caller gave us that Node changes before our code runs: signal
// dispositions (Node resets every one at start-up), the blocked mask, and
// which fds were really inherited (Node opens its own fds at 3 and up).
// Each command's bin is a /bin/sh script and a JS module in one file: the sh
// part (builtins only, same PID as node after its exec) reads SigIgn and
// SigBlk from /proc/self/status and, when LISTEN_PID names this process,
// which of the LISTEN_FDS fds 3... are open and not close-on-exec, then execs
// node with one extra argument `--rk-inherited=IGN BLK FDS` that the loader
// (libs/cli/loader.cjs) strips from process.argv before our code runs.
import { constants } from 'node:os';

export const INHERITED_ARG = '--rk-inherited=';
const KEY = Symbol.for('rk.inherited');

export interface Inherited {
  /** Hex mask (bit sig-1) of the signals the caller ignored. */
  ignore: string;
  /** Hex mask (bit sig-1) of the signals the caller blocked. */
  block: string;
  /** Names of the ignored signals ("SIGHUP", ...). */
  ignored: Set<string>;
  /**
   * When LISTEN_PID named this process: the fds of 3..3+LISTEN_FDS-1 that were
   * really inherited (open, not close-on-exec). Undefined otherwise.
   */
  listenFds?: number[];
}

/** Parses the value of --rk-inherited= ("IGN BLK FDS"; FDS "-" or "3,4,"). */
export function parseInherited(value: string): Inherited | undefined {
  const [ignore, block, fds] = value.split(' ');
  if (!ignore || !block || !/^[0-9a-fA-F]{1,16}$/.test(ignore) || !/^[0-9a-fA-F]{1,16}$/.test(block)) return undefined;
  const mask = BigInt(`0x${ignore}`);
  const ignored = new Set<string>();
  for (const [name, num] of Object.entries(constants.signals)) {
    if (num >= 1 && num <= 64 && (mask >> BigInt(num - 1)) & 1n) ignored.add(name);
  }
  const listenFds = fds === undefined || fds === '-' ? undefined : fds.split(',').filter(Boolean).map(Number).filter((n) => Number.isInteger(n) && n >= 3);
  return { ignore, block, ignored, listenFds };
}

/** What the bin's sh part captured, or undefined when the bundle was started by node directly. */
export function inherited(): Inherited | undefined {
  const v = (globalThis as Record<symbol, unknown>)[KEY];
  return typeof v === 'string' ? parseInherited(v) : undefined;
}
