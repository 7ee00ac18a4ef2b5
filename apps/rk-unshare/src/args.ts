// Parsing: yargs-parser alone when the flags are valid; the full yargs parser
// (loaded only then) for --help, --version and usage errors.
import { checkFlags, fastParse, usageFail } from '@rk/cli/fast';
import { FLAGS, conflict, type UnshareArgs } from './flags.js';

export const USAGE = `Usage: rk-unshare [options] [--] [CMD [ARGS...]]

Start CMD (default: $SHELL) in new namespaces. With --map-auto the caller becomes
root inside and their /etc/subuid and /etc/subgid ranges are mapped below it
(through newuidmap/newgidmap, as rk-idmap does); with --map-root only the caller is
mapped, as root (like unshare -r). With --gate the child is held before CMD runs,
STATE/child_pid is written, and the maps can be written from outside (rk-idmap
--state-dir STATE) before the gate is opened with "rk-unshare --release STATE"
(or by writing a line to the FIFO STATE/gate).

Exit status: CMD's own; 255 when CMD was killed by a signal (named on stderr);
126/127 when CMD cannot be run or is not found; 1 for a set-up error; 2 for a
usage error. If rk-unshare is killed (even by SIGKILL), CMD is killed too.`;

export async function parseUnshareArgs(argv: string[]): Promise<UnshareArgs> {
  const checked = checkFlags(argv, FLAGS);
  if (checked.error) usageFail('rk-unshare', checked.error, 2);
  const args = checked.args;
  const fast = fastParse(args, FLAGS, { haltAtCommand: true }) as unknown as UnshareArgs | undefined;
  if (fast && !conflict(fast)) return fast;
  const { fullParse } = await import('./full-args.js');
  return fullParse(args);
}
