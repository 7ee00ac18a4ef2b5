// How many times a driver's helper (or the builtin engine) is restarted when
// it dies: at most `burst` restarts within any `windowMs`; one death more in
// that window and it is given up on (CMD keeps running, without network),
// so a helper that crashes on every packet cannot spin forever. A budget of
// 0 restarts is a driver that cannot restart its helper.
import type { Logger } from '@rk/cli';

export class RestartBudget {
  private readonly recent: number[] = [];
  private count = 0;
  private gaveUp = false;

  constructor(
    private readonly what: string,
    private readonly log: Logger,
    private readonly burst = 5,
    private readonly windowMs = 30_000,
  ) {}

  /** Called when the helper died: true = restart it now (logs "<what> died (<reason>): restarting (restart N)"); false = give up (logs once, with a clear message that CMD keeps running without network). */
  next(reason: string): boolean {
    if (this.gaveUp) return false;
    const now = performance.now();
    while (this.recent.length > 0 && now - this.recent[0]! >= this.windowMs) this.recent.shift();
    if (this.recent.length >= this.burst) {
      this.gaveUp = true;
      const why = this.burst === 0
        ? 'it is not restarted'
        : `it was restarted ${this.burst} times within ${this.windowMs / 1000} s: giving up on it`;
      this.log.error(`${this.what} died (${reason}): ${why}; CMD keeps running without network`);
      return false;
    }
    this.recent.push(now);
    this.count++;
    this.log.warn(`${this.what} died (${reason}): restarting (restart ${this.count})`);
    return true;
  }

  get restarts(): number {
    return this.count;
  }
}
