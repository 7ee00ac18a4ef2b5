// rk-unshare: start CMD in new namespaces, optionally held at a gate until
// its ID maps are written (by us or by rk-idmap / a script of the user's).
import { Logger, runMain } from '@rk/cli';
import { baseParser, commandOf } from '@rk/cli/options';
import { releaseGate } from '@rk/state';
import { parseUnshareArgs } from './args.js';
import { runUnshare } from './run.js';

const log = new Logger('rk-unshare');

runMain(log, async () => {
  const args = parseUnshareArgs(baseParser('rk-unshare', process.argv.slice(2), { haltAtCommand: true }));
  log.debugEnabled = args.debug;
  if (args.release) {
    releaseGate(args.release);
    return 0;
  }
  return runUnshare(args, commandOf(args, [process.env.SHELL || '/bin/sh']), log);
});
