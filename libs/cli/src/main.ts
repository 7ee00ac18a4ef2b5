import { Logger } from './log.js';
import { RkError, exitCodeOf, messageOf } from './errors.js';

/**
 * Runs a command's main function: an RkError (or any error) becomes one line
 * on stderr and a non-zero exit; a returned number becomes the exit status.
 */
export function runMain(log: Logger, main: () => Promise<number | void>): void {
  main().then(
    (code) => {
      if (typeof code === 'number') process.exit(code);
    },
    (err: unknown) => {
      log.error(messageOf(err));
      if (log.debugEnabled && err instanceof Error && !(err instanceof RkError)) log.debug(String(err.stack));
      process.exit(exitCodeOf(err));
    },
  );
}
