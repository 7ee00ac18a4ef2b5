/** The command to run: what follows `--` (or the first non-option), or a default. */
export function commandOf(argv: { _: Array<string | number>; '--'?: Array<string | number> }, fallback?: string[]): string[] {
  const rest = [...argv._, ...(argv['--'] ?? [])].map(String);
  if (rest.length === 0 && fallback) return fallback;
  return rest;
}
