// The full yargs parser: help text, --version, and usage errors (exit 2).
import { baseParser } from '@rk/cli/options';
import { yargsOptions } from '@rk/cli/fast';
import { FLAGS, type CopyUpArgs } from './flags.js';
import { USAGE } from './args.js';

export function fullParse(args: string[]): CopyUpArgs {
  const opts = yargsOptions(FLAGS);
  return baseParser('rk-copyup', args, { haltAtCommand: true })
    .usage(USAGE)
    .options({
      ...opts,
      propagation: { ...opts.propagation, requiresArg: true },
      'copy-up-mode': { ...opts['copy-up-mode'], requiresArg: true },
    })
    .parserConfiguration({ 'halt-at-non-option': true, 'populate--': true, 'strip-aliased': true, 'camel-case-expansion': false, 'boolean-negation': false, 'parse-positional-numbers': false })
    .example('unshare --user --map-root-user --mount -- rk-copyup --copy-up /etc -- sh -c "echo x > /etc/foo"', 'a writable /etc for one command')
    .example('rk-unshare --user --mount --map-auto -- rk-copyup --copy-up /etc --copy-up /run -- dockerd', 'what rootless Docker needs')
    .example('rk-unshare --user --mount --map-auto -- rk-copyup --propagation rslave -- sh', 'only set propagation (host mounts show up inside)')
    .parseSync() as unknown as CopyUpArgs;
}
