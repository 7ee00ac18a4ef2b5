// rk-unshare: start CMD in new namespaces, optionally held at a gate until
// its ID maps are written (by us or by rk-idmap / a script of the user's).
import { Logger, runMain, commandOf } from '@rk/cli';
import { releaseGate } from '@rk/state';
import { parseUnshareArgs } from './args.js';
import { runUnshare } from './run.js';

const log = new Logger('rk-unshare');

runMain(log, async () => {
  const args = await parseUnshareArgs(process.argv.slice(2));
  log.debugEnabled = args.debug;
  if (args.release) {
    releaseGate(args.release);
    return 0;
  }
  return runUnshare(args, commandOf(args, [process.env.SHELL || '/bin/sh']), log);
});
