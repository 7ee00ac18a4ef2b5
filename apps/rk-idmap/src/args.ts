// Parsing: yargs-parser alone when the arguments are valid; the full yargs
// parser (loaded only then) for --help, --version and usage errors.
import { checkFlags, fastParse, usageFail } from '@rk/cli/fast';
import { FLAGS, conflict, type IdmapArgs } from './flags.js';

export const USAGE = `Usage: rk-idmap [options] [PID]

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

export async function parseIdmapArgs(argv: string[]): Promise<IdmapArgs> {
  const checked = checkFlags(argv, FLAGS);
  if (checked.error) usageFail('rk-idmap', checked.error, 2);
  const args = checked.args;
  const fast = fastParse(args, FLAGS) as unknown as IdmapArgs | undefined;
  if (fast && fast._.length <= 1 && fast['--'] === undefined) {
    const a = { ...fast, pid: fast._[0] };
    if (!conflict(a)) return a;
  }
  const { fullParse } = await import('./full-args.js');
  return fullParse(args);
}
