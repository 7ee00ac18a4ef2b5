// The full yargs parser: help text, --version, and usage errors (exit 2).
import { baseParser } from '@rk/cli/options';
import { yargsOptions } from '@rk/cli/fast';
import { FLAGS, conflict, type NetArgs } from './flags.js';
import { USAGE } from './args.js';

export function fullParse(args: string[]): NetArgs {
  const opts = yargsOptions(FLAGS);
  return baseParser('rk-net', args, { conflict })
    .command('$0 [pid]', false, (c) => c.positional('pid', { type: 'string', describe: 'a process in the network namespace' }))
    .usage(USAGE)
    .options({ ...opts, 'state-dir': { ...opts['state-dir'], requiresArg: true } })
    .example('rk-net --net=slirp4netns --disable-host-loopback 12345', 'NAT for the namespace of process 12345')
    .example('rk-unshare -U -m -n --gate --state-dir S -- sh & rk-idmap --state-dir S; rk-net --net=builtin --state-dir S --release', 'the pipeline in shell')
    .parseSync() as unknown as NetArgs;
}
