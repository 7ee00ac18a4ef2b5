// rk-unshare: start CMD in new namespaces, optionally held at a gate until
// its ID maps are written (by us or by rk-idmap / a script of the user's).
import { Logger, runMain } from '@rk/cli';
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
  const cmd = [...args._, ...(args['--'] ?? [])].map(String);
  return runUnshare(args, cmd.length > 0 ? cmd : [process.env.SHELL || '/bin/sh'], log);
});
