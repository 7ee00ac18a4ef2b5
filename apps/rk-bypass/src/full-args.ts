// The full yargs parser: help text, --version, and usage errors (exit 2).
import { baseParser } from '@rk/cli/options';
import { yargsOptions } from '@rk/cli/fast';
import { FLAGS, type BypassCmdArgs } from './flags.js';
import { USAGE, conflict } from './args.js';

export function fullParse(args: string[]): BypassCmdArgs {
  const opts = yargsOptions(FLAGS);
  return baseParser('rk-bypass', args, { haltAtCommand: true })
    .usage(USAGE)
    .options({ ...opts, 'state-dir': { ...opts['state-dir'], requiresArg: true } })
    .parserConfiguration({ 'halt-at-non-option': true, 'populate--': true, 'strip-aliased': true, 'camel-case-expansion': false, 'boolean-negation': false, 'parse-positional-numbers': false })
    .check((a) => {
      const c = conflict(a as unknown as BypassCmdArgs);
      if (c) throw new Error(c);
      return true;
    })
    .example('rk-bypass --supervise --state-dir S &', 'outside: the supervisor (before the child is released)')
    .example('rk-unshare --user --mount --net --state-dir S --gate -- rk-bypass --state-dir S -- CMD', 'inside: CMD and its children get bypassed connects')
    .parseSync() as unknown as BypassCmdArgs;
}
