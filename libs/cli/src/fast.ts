// The fast path of argument parsing. Loading yargs costs ~70 ms of CPU on
// these machines, more than a whole upstream `rootlesskit true`, so commands
// whose start-up matters declare their flags once as a FlagTable: the common
// case (valid flags, no --help) is parsed with yargs-parser alone, and
// anything else (--help, --version, a usage error) goes to the full yargs
// parser built from the same table, which prints help and errors.
import parser from 'yargs-parser';

export interface FlagSpec {
  type: 'boolean' | 'string' | 'number';
  array?: boolean;
  alias?: string;
  default?: unknown;
  choices?: readonly string[];
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
      'parse-positional-numbers': false,
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
