// The fast path of argument parsing. Loading yargs costs ~70 ms of CPU on
// these machines, more than a whole upstream `rootlesskit true`, so commands
// whose start-up matters declare their flags once as a FlagTable: the common
// case (valid flags, no --help) is parsed with yargs-parser alone, and
// anything else (--help, --version, a usage error) goes to the full yargs
// parser built from the same table, which prints help and errors.
import parser from 'yargs-parser';
import { writeSync } from 'node:fs';

export interface FlagSpec {
  type: 'boolean' | 'string' | 'number';
  array?: boolean;
  alias?: string;
  default?: unknown;
  choices?: readonly string[];
  /** The values a flag checked elsewhere takes (for shell completion; yargs' choices would change its error). */
  values?: readonly string[];
  describe: string;
  group?: string;
}

export type FlagTable = Record<string, FlagSpec>;

export type Parsed = Record<string, unknown> & { _: string[]; '--'?: string[] };

/** yargs options for a table (for the full parser). */
export function yargsOptions(table: FlagTable): Record<string, object> {
  const out: Record<string, object> = {};
  for (const [name, f] of Object.entries(table)) {
    out[name] = {
      type: f.type,
      ...(f.array ? { array: true, nargs: 1 } : {}),
      ...(f.alias ? { alias: f.alias } : {}),
      ...(f.default !== undefined ? { default: f.default } : {}),
      ...(f.choices ? { choices: f.choices } : {}),
      describe: f.describe,
    };
  }
  return out;
}

/**
 * Go-style booleans: a bare "--flag" never takes the next word as its value
 * ("rootlesskit --debug true" runs `true`). Rewrites bare boolean flags before
 * the command to "--flag=true".
 */
export function explicitBooleans(args: string[], table: FlagTable): string[] {
  const booleans = new Set<string>();
  const valued = new Set<string>();
  for (const [name, f] of Object.entries(table)) {
    const names = [`--${name}`, ...(f.alias ? [f.alias.length === 1 ? `-${f.alias}` : `--${f.alias}`] : [])];
    for (const n of names) (f.type === 'boolean' ? booleans : valued).add(n);
  }
  const out = [...args];
  for (let i = 0; i < out.length; i++) {
    const a = out[i]!;
    if (a === '--' || !a.startsWith('-')) break;
    if (booleans.has(a)) out[i] = `${a}=true`;
    else if (valued.has(a)) i++;
  }
  return out;
}

/**
 * Parses with yargs-parser only. Returns undefined when the full parser must
 * run: --help/--version, an unknown flag, a value outside its choices, a
 * number that is not one. (A valued flag given no value gets its default or
 * '', as the full parser would give it.)
 */
export function fastParse(args: string[], table: FlagTable, opts: { haltAtCommand?: boolean } = {}): Parsed | undefined {
  const boolean: string[] = [];
  const string: string[] = [];
  const number: string[] = [];
  const array: string[] = [];
  const alias: Record<string, string> = {};
  const defaults: Record<string, unknown> = {};
  const narg: Record<string, number> = {};
  for (const [name, f] of Object.entries(table)) {
    (f.type === 'boolean' ? boolean : f.type === 'number' ? number : string).push(name);
    if (f.array) {
      array.push(name);
      narg[name] = 1;
    }
    if (f.alias) alias[name] = f.alias;
    if (f.default !== undefined) defaults[name] = f.default;
  }
  const r = parser.detailed(args, {
    boolean,
    string,
    number,
    array,
    alias,
    narg,
    default: defaults,
    configuration: {
      'halt-at-non-option': opts.haltAtCommand ?? false,
      'parse-positional-numbers': false,
      'populate--': true,
      'camel-case-expansion': false,
      'strip-aliased': true,
      'boolean-negation': false,
    },
  });
  if (r.error) return undefined;
  const argv = r.argv as Parsed;
  for (const key of Object.keys(argv)) {
    if (key === '_' || key === '--' || key === '$0') continue;
    const f = table[key];
    if (!f) return undefined;
    if (key === 'help' || key === 'version') {
      if (argv[key]) return undefined;
      continue;
    }
    const values = f.array ? (argv[key] as unknown[]) : [argv[key]];
    if (f.array && !Array.isArray(argv[key])) return undefined;
    for (const v of values) {
      if (f.type === 'number' && (typeof v !== 'number' || Number.isNaN(v))) return undefined;
      if (f.type === 'string' && typeof v !== 'string') return undefined;
      if (f.type === 'boolean' && typeof v !== 'boolean') return undefined;
      if (f.choices && !f.choices.includes(v as string)) return undefined;
    }
  }
  argv._ = argv._.map(String);
  return argv;
}

const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go's strconv.ParseInt(s, 0, 64), as the flag package reads an int flag: NaN when it would fail. */
export function goInt(s: string): number {
  const m = /^([+-]?)(0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|0(?:_?[0-7])*|[1-9](?:_?[0-9])*)$/.exec(s);
  if (!m) return NaN;
  const body = m[2]!.replace(/_/g, '');
  let n: number;
  if (/^0[xX]/.test(body)) n = parseInt(body.slice(2), 16);
  else if (/^0[oO]/.test(body)) n = parseInt(body.slice(2), 8);
  else if (/^0[bB]/.test(body)) n = parseInt(body.slice(2), 2);
  else if (body.length > 1 && body.startsWith('0')) n = parseInt(body.slice(1), 8);
  else n = parseInt(body, 10);
  if (!Number.isSafeInteger(n)) return NaN;
  return m[1] === '-' ? -n : n;
}

/**
 * The flags before CMD, checked and normalized as Go's flag package (which
 * upstream's CLI uses) reads them, so that no flag is ever taken silently for
 * another or for a value:
 * - a bare boolean becomes --flag=true ("rootlesskit --debug true" runs
 *   `true`); --flag=VALUE must be one of strconv.ParseBool's words (1, t, T,
 *   TRUE, true, True, and their false forms);
 * - a valued flag needs a value: one that is missing, or is another flag
 *   ("--state-dir --pidns sh"), is refused ("flag needs an argument");
 * - a number must be one strconv.ParseInt(s, 0) takes (42, 0x2a, 0o52).
 * Returns the normalized words, or `error` with the one-line message.
 */
export function checkFlags(args: string[], table: FlagTable): { args: string[]; error?: string } {
  const byName = new Map<string, FlagSpec>();
  for (const [name, f] of Object.entries(table)) {
    byName.set(`--${name}`, f);
    if (f.alias) byName.set(f.alias.length === 1 ? `-${f.alias}` : `--${f.alias}`, f);
  }
  const out = [...args];
  for (let i = 0; i < out.length; i++) {
    const a = out[i]!;
    if (a === '--' || !a.startsWith('-') || a === '-') break;
    const eq = a.indexOf('=');
    const flag = eq < 0 ? a : a.slice(0, eq);
    const f = byName.get(flag);
    if (!f) continue;
    if (f.type === 'boolean') {
      if (eq < 0) out[i] = `${a}=true`;
      else {
        const v = a.slice(eq + 1);
        if (GO_TRUE.has(v)) out[i] = `${flag}=true`;
        else if (GO_FALSE.has(v)) out[i] = `${flag}=false`;
        else return { args, error: `invalid boolean value ${JSON.stringify(v)} for ${flag}: parse error` };
      }
      continue;
    }
    let value: string;
    if (eq >= 0) value = a.slice(eq + 1);
    else {
      const next = out[i + 1];
      if (next === undefined) return { args, error: `flag needs an argument: ${flag}` };
      if (next.startsWith('-') && next !== '-') {
        return { args, error: `flag needs an argument: ${flag} (${next} is a flag; for a value that starts with "-", write ${flag}=${next})` };
      }
      value = next;
    }
    if (f.type === 'number') {
      const n = goInt(value);
      if (Number.isNaN(n)) return { args, error: `invalid value ${JSON.stringify(value)} for flag ${flag}: parse error` };
      value = String(n);
    }
    if (eq >= 0) out[i] = `${flag}=${value}`;
    else out[++i] = value;
  }
  return { args: out };
}

/** Prints a usage error as every command's parser does, and exits. */
export function usageFail(prog: string, text: string, exitCode: number): never {
  writeSync(2, `${prog}: error: ${text} (see ${prog} --help)\n`);
  process.exit(exitCode);
}
