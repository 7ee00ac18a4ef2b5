// rootlesskit: argument parsing and exit status; the work is in run.ts.
import { Logger, RkError, runMain, commandOf } from '@rk/cli';
import { parseArgs } from './args.js';
import { validate } from './validate.js';
import { run } from './run.js';
import { SEMVER, VERSION } from './version.js';

const log = new Logger('[rootlesskit:parent]');

runMain(log, async () => {
  const a = await parseArgs(process.argv.slice(2), VERSION);
  log.debugEnabled = a.debug;
  if (a['print-semver']) {
    process.stdout.write(`${SEMVER}\n`);
    return 0;
  }
  const net = validate(a, (m) => log.warn(m));
  const cmd = commandOf(a);
  if (cmd.length === 0) throw new RkError('no command specified: usage: rootlesskit [flags] CMD [ARGS...] (e.g. rootlesskit bash)', 1);
  return run(a, cmd, VERSION, log, net);
});
