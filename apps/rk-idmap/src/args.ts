import type { Argv } from 'yargs';
import type { SubidSource } from '@rk/idmap';

const SOURCES = ['auto', 'dynamic', 'static'];

const USAGE = `Usage: rk-idmap [options] [PID]

Write /proc/PID/uid_map and gid_map: the caller becomes root (0) inside the user
namespace of PID, and the caller's subordinate IDs are mapped below, from ID 1 on,
in the order they are listed. The ranges come from getsubids (--subid-source
dynamic), /etc/subuid and /etc/subgid (static), or getsubids with the files as the
fallback (auto). newuidmap/newgidmap (Debian package "uidmap") write the maps;
when run as root, rk-idmap writes them itself. The process must be in a user
namespace it created and whose maps are still empty (e.g. a child of
"rk-unshare --user --gate --state-dir DIR").

Exit status: 0 maps written (or printed); 1 error (no subordinate IDs, newuidmap
missing or refused, process gone); 2 usage error.`;

export function parseIdmapArgs(y: Argv<{ debug: boolean }>) {
  return y
    .command('$0 [pid]', false, (c) =>
      c.positional('pid', { type: 'string', describe: 'process whose uid_map/gid_map to write' }),
    )
    .usage(USAGE)
    .option('state-dir', { type: 'string', requiresArg: true, describe: 'read the PID from DIR/child_pid instead of the command line' })
    // not yargs' `choices`: its multi-line "Invalid values" message would be cut to its first line
    .option('subid-source', {
      type: 'string',
      default: 'auto',
      requiresArg: true,
      describe: 'auto|dynamic|static: where the ranges come from: getsubids (dynamic), /etc/sub[ug]id (static), or dynamic then static (auto)',
      coerce: (v: string) => v as SubidSource,
    })
    .option('map-root', { alias: 'r', type: 'boolean', default: false, describe: 'map only the caller, as root, like "unshare -r" (setgroups is denied); no subordinate IDs' })
    .option('print', { type: 'boolean', default: false, describe: 'print what would be mapped and where each range comes from; write nothing (no PID needed)' })
    .option('json', { type: 'boolean', default: false, describe: 'with --print: print JSON' })
    .check((a) => {
      const pid = a.pid as string | undefined;
      if (!SOURCES.includes(a['subid-source'])) throw new Error(`--subid-source must be auto, dynamic or static, got "${a['subid-source']}"`);
      if (a.json && !a.print) throw new Error('--json only goes with --print');
      if (pid !== undefined && a['state-dir'] !== undefined) throw new Error('give a PID or --state-dir DIR, not both');
      if (pid !== undefined && !/^[1-9]\d*$/.test(pid)) throw new Error(`PID must be a positive integer, got "${pid}"`);
      if (!a.print && pid === undefined && a['state-dir'] === undefined) throw new Error('which process? give a PID or --state-dir DIR (or --print)');
      return true;
    })
    .example('rk-idmap 12345', 'map the subordinate IDs into the user namespace of process 12345')
    .example('rk-idmap --state-dir S', 'the same for the process in S/child_pid (e.g. held by "rk-unshare --gate --state-dir S")')
    .example('rk-idmap --map-root 12345', 'map only yourself, as root')
    .example('rk-idmap --print', 'show the ranges you would get and the file lines they come from')
    .example('rk-idmap --print --json --subid-source static', 'the same as JSON, from /etc/subuid and /etc/subgid only')
    .parseSync();
}

export type IdmapArgs = ReturnType<typeof parseIdmapArgs>;
