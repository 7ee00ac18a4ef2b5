// Parsing: yargs-parser alone for a known subcommand with valid flags; the
// full yargs parser (loaded only then) for help, --version, no subcommand and
// usage errors, so that an ordinary call does not pay for loading yargs.
import { fastParse, type FlagTable } from '@rk/cli/fast';
import { FLAGS, SUBCOMMANDS, type CtlArgs, type SubcommandName } from './flags.js';

/** `help [COMMAND]` and `h` (as upstream's CLI has them) become --help. */
export function rewriteHelp(args: string[]): string[] {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') break;
    if (a === '--socket') {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    if (a === 'help' || a === 'h') return [...args.slice(0, i), ...args.slice(i + 1), '--help'];
    break;
  }
  return args;
}

/** The subcommand: the first word that is neither a flag nor --socket's value. */
function subcommandOf(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return undefined;
    if (a === '--socket') {
      i++;
      continue;
    }
    if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/** The fast path; undefined sends the words to the full parser. */
export function fastCtlArgs(args: string[]): CtlArgs | undefined {
  const sub = subcommandOf(args);
  if (sub === undefined || !Object.hasOwn(SUBCOMMANDS, sub)) return undefined;
  const command = sub as SubcommandName;
  const spec = SUBCOMMANDS[command];
  const table: FlagTable = { ...FLAGS, ...spec.flags };
  const a = fastParse(args, table);
  if (!a || a['--'] !== undefined || a._[0] !== command) return undefined;
  const words = a._.slice(1);
  if (spec.positional === 'none' && words.length > 0) return undefined;
  // a flag that looks like a value (e.g. "--socket --debug") or an empty one: the full parser says what is wrong
  if (a.socket !== undefined && (a.socket === '' || String(a.socket).startsWith('-'))) return undefined;
  return { command, socket: a.socket as string | undefined, debug: a.debug === true, json: a.json === true, words };
}

/** Returns the parsed call, or undefined when the full parser has already done all there is (help, version). */
export async function parseCtlArgs(argv: string[]): Promise<CtlArgs | undefined> {
  const args = rewriteHelp(argv);
  const fast = fastCtlArgs(args);
  if (fast) return fast;
  const { fullParse } = await import('./full-args.js');
  return fullParse(args);
}
