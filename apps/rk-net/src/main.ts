// rk-net: argument parsing and exit status; the work is in run.ts.
import { Logger, runMain } from '@rk/cli';
import { parseNetArgs } from './args.js';
import { runNet } from './run.js';

const log = new Logger('rk-net');

runMain(log, async () => {
  const args = await parseNetArgs(process.argv.slice(2));
  log.debugEnabled = args.debug;
  return runNet(args, log);
});
