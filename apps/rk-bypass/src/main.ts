// rk-bypass: argument parsing and exit status; the work is in run.ts.
import { Logger, runMain } from '@rk/cli';
import { parseBypassArgs } from './args.js';
import { runInstall, runSupervise } from './run.js';

const log = new Logger('rk-bypass');

runMain(log, async () => {
  const args = await parseBypassArgs(process.argv.slice(2));
  log.debugEnabled = args.debug;
  return args.supervise ? runSupervise(args, log) : runInstall(args, log);
});
