import { writeSync } from 'node:fs';

/**
 * Writes diagnostics to stderr synchronously (fd 2 directly, so Node never
 * wraps or changes the terminal the command shares with its child).
 * `prefix` is e.g. "rk-unshare" or "[rootlesskit:parent]".
 */
export class Logger {
  debugEnabled: boolean;
  constructor(readonly prefix: string, debug = false) {
    this.debugEnabled = debug;
  }
  private line(level: string, msg: string): void {
    try {
      const sep = this.prefix.startsWith('[') ? ' ' : ': ';
      writeSync(2, `${this.prefix}${sep}${level}${msg}\n`);
    } catch {
      // stderr closed: nothing to tell
    }
  }
  /** Debug lines end with the time since the process started, e.g. "(at 41.2 ms)". */
  debug(msg: string): void {
    if (this.debugEnabled) this.line('debug: ', `${msg} (at ${performance.now().toFixed(1)} ms)`);
  }
  info(msg: string): void {
    this.line('', msg);
  }
  warn(msg: string): void {
    this.line('warning: ', msg);
  }
  error(msg: string): void {
    this.line('error: ', msg);
  }
  /** Same logger with another prefix (e.g. the child's). */
  withPrefix(prefix: string): Logger {
    return new Logger(prefix, this.debugEnabled);
  }
}
