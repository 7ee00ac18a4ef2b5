// The full yargs parser: help text, --version, and usage errors (exit 1, as upstream).
import { baseParser } from '@rk/cli/options';
import { yargsOptions } from '@rk/cli/fast';
import { FLAGS, type Args } from './flags.js';
import { USAGE } from './args.js';

export function fullParse(args: string[], version: string): Args {
  let y = baseParser('rootlesskit', args, { haltAtCommand: true, usageExitCode: 1 })
    .version(false)
    .usage(USAGE)
    .option('version', { alias: 'v', type: 'boolean', describe: 'print the version' })
    .options(yargsOptions(FLAGS))
    .group(['help', 'version'], 'Misc:')
    .parserConfiguration({ 'halt-at-non-option': true, 'populate--': true, 'strip-aliased': true, 'camel-case-expansion': false, 'boolean-negation': false, 'parse-positional-numbers': false });
  const groups = new Map<string, string[]>();
  for (const [name, f] of Object.entries(FLAGS)) {
    const g = (f as { group?: string }).group ?? 'Misc:';
    groups.set(g, [...(groups.get(g) ?? []), name]);
  }
  for (const [g, names] of groups) y = y.group(names, g);
  const a = y.epilog(`rootlesskit version ${version}`).parseSync() as unknown as Args & { version?: boolean };
  if (a.version) {
    process.stdout.write(`rootlesskit version ${version}\n`);
    process.exit(0);
  }
  return a;
}
