// The full yargs parser: help text, --version, and usage errors (exit 2).
import { baseParser } from '@rk/cli/options';
import { yargsOptions } from '@rk/cli/fast';
import { FLAGS, conflict, type UnshareArgs } from './flags.js';
import { USAGE } from './args.js';

export function fullParse(args: string[]): UnshareArgs {
  return baseParser('rk-unshare', args, { haltAtCommand: true, conflict })
    .usage(USAGE)
    .options(yargsOptions(FLAGS))
    .parserConfiguration({ 'halt-at-non-option': true, 'populate--': true, 'strip-aliased': true, 'camel-case-expansion': false, 'boolean-negation': false, 'parse-positional-numbers': false })
    .example('rk-unshare --user --mount --map-auto -- cat /proc/self/uid_map', 'root inside, subordinate IDs mapped')
    .example('rk-unshare --user --map-root --pid -- ps -e', 'CMD is PID 1 with its own /proc')
    .example('rk-unshare --user --mount --gate --state-dir S -- sh & rk-idmap --state-dir S; rk-unshare --release S', 'map from outside, then run')
    .parseSync() as unknown as UnshareArgs;
}
