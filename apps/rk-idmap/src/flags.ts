// rk-idmap's flags, declared once for the fast parser (yargs-parser) and the
// full yargs parser (help, --version, usage errors).
import type { FlagTable } from '@rk/cli/fast';
import type { SubidSource } from '@rk/idmap';

const SOURCES = ['auto', 'dynamic', 'static'];

export const FLAGS = {
  debug: { type: 'boolean', default: false, describe: 'print debug messages on stderr' },
  'state-dir': { type: 'string', describe: 'read the PID from DIR/child_pid instead of the command line' },
  // not yargs' `choices`: checked in `conflict` below, with a one-line message
  'subid-source': {
    type: 'string',
    default: 'auto',
    values: SOURCES,
    describe: 'auto|dynamic|static: where the ranges come from: getsubids (dynamic), /etc/sub[ug]id (static), or dynamic then static (auto)',
  },
  'map-root': { type: 'boolean', alias: 'r', default: false, describe: 'map only the caller, as root, like "unshare -r" (setgroups is denied); no subordinate IDs' },
  print: { type: 'boolean', default: false, describe: 'print what would be mapped and where each range comes from; write nothing (no PID needed)' },
  json: { type: 'boolean', default: false, describe: 'with --print: print JSON' },
} as const satisfies FlagTable;

export interface IdmapArgs {
  debug: boolean;
  'state-dir'?: string;
  'subid-source': SubidSource;
  'map-root': boolean;
  print: boolean;
  json: boolean;
  pid?: string;
  _: string[];
  '--'?: string[];
}

/** The refused combinations; the message is the usage error. */
export function conflict(a: IdmapArgs): string | undefined {
  const pid = a.pid;
  if (a['state-dir'] === '') return '--state-dir needs a directory';
  if (!SOURCES.includes(a['subid-source'])) return `--subid-source must be auto, dynamic or static, got "${a['subid-source']}"`;
  if (a.json && !a.print) return '--json only goes with --print';
  if (pid !== undefined && a['state-dir'] !== undefined) return 'give a PID or --state-dir DIR, not both';
  if (pid !== undefined && !/^[1-9]\d*$/.test(pid)) return `PID must be a positive integer, got "${pid}"`;
  if (!a.print && pid === undefined && a['state-dir'] === undefined) return 'which process? give a PID or --state-dir DIR (or --print)';
  return undefined;
}
