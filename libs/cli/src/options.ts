// yargs helpers shared by every command: consistent usage errors, --debug,
// --version, and the strict "flags then -- CMD ARGS" parsing.
import yargs, { type Argv } from 'yargs';
import { writeSync } from 'node:fs';

export const VERSION = '0.1.0';

/**
 * A yargs parser for `prog` with our conventions: strict flags, a one-line
 * usage error and exit 2 (not the whole help), --help/--version, --debug,
 * and parsing that stops at the first non-option (CMD and its args).
 */
export function baseParser(
  prog: string,
  args: string[],
  opts: { haltAtCommand?: boolean; usageExitCode?: number; conflict?: (a: never) => string | undefined } = {},
): Argv<{ debug: boolean }> {
  const y = yargs(args)
    .scriptName(prog)
    .parserConfiguration({
      'halt-at-non-option': opts.haltAtCommand ?? false,
      'parse-positional-numbers': false,
      'populate--': true,
      'strip-aliased': true,
      'boolean-negation': false,
    })
    .strict()
    .version(VERSION)
    .help('help')
    .alias('help', 'h')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .option('debug', { type: 'boolean', default: false, describe: 'print debug messages on stderr' })
    .fail((msg, err) => {
      const text = tidy(msg || (err ? err.message : 'invalid arguments'));
      writeSync(2, `${prog}: error: ${text} (see ${prog} --help)\n`);
      process.exit(opts.usageExitCode ?? 2);
    });
  // The command's own refusals (the same function its fast path uses).
  const conflict = opts.conflict;
  if (conflict) {
    y.check((a) => {
      const why = conflict(a as never);
      if (why) throw new Error(why);
      return true;
    });
  }
  return y;
}

export { commandOf } from './command-of.js';

/** "Unknown arguments: bogus-flag, bogusFlag" -> "unknown flag: --bogus-flag". */
function tidy(msg: string): string {
  const m = /^Unknown arguments?: (.*)$/.exec(msg.split('\n')[0]!);
  if (!m) return msg.split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
  const names = m[1]!.split(', ').filter((n) => !/[A-Z]/.test(n));
  if (names.every((n) => /^[0-9]/.test(n))) return `unexpected ${names.length === 1 ? 'argument' : 'arguments'}: ${names.join(' ')}`;
  const shown = names.map((n) => (n.startsWith('-') ? n : n.length === 1 ? `-${n}` : `--${n}`));
  return `unknown ${shown.length === 1 ? 'flag' : 'flags'}: ${shown.join(' ')}`;
}

