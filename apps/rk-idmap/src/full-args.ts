// The full yargs parser: help text, --version, and usage errors (exit 2).
import { baseParser } from '@rk/cli/options';
import { yargsOptions } from '@rk/cli/fast';
import { FLAGS, conflict, type IdmapArgs } from './flags.js';
import { USAGE } from './args.js';

export function fullParse(args: string[]): IdmapArgs {
  const opts = yargsOptions(FLAGS);
  return baseParser('rk-idmap', args, { conflict })
    .command('$0 [pid]', false, (c) => c.positional('pid', { type: 'string', describe: 'process whose uid_map/gid_map to write' }))
    .usage(USAGE)
    .options({
      ...opts,
      'state-dir': { ...opts['state-dir'], requiresArg: true },
      'subid-source': { ...opts['subid-source'], requiresArg: true },
    })
    .example('rk-idmap 12345', 'map the subordinate IDs into the user namespace of process 12345')
    .example('rk-idmap --state-dir S', 'the same for the process in S/child_pid (e.g. held by "rk-unshare --gate --state-dir S")')
    .example('rk-idmap --map-root 12345', 'map only yourself, as root')
    .example('rk-idmap --print', 'show the ranges you would get and the file lines they come from')
    .example('rk-idmap --print --json --subid-source static', 'the same as JSON, from /etc/subuid and /etc/subgid only')
    .parseSync() as unknown as IdmapArgs;
}
