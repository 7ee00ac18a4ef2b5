// Parsing: yargs-parser alone when the flags are valid; the full yargs parser
// (loaded only then) for --help, --version and usage errors.
import { checkFlags, fastParse, usageFail } from '@rk/cli/fast';
import { FLAGS, type CopyUpArgs } from './flags.js';

export const USAGE = `Usage: rk-copyup [options] -- CMD [ARGS...]

Run inside a mount namespace (made by rk-unshare --mount, or unshare --mount):
set the propagation of /, make each --copy-up directory writable, then exec CMD
(default: $SHELL) in place of rk-copyup.

--copy-up-mode tmpfs+symlink (default, upstream's): a tmpfs is mounted on DIR,
the original DIR stays reachable (read-only to you when root owns it) as
DIR/.ro<random>, and DIR gets one symlink per original entry into it (entries
that were symlinks keep their own target; relative symlinks further down, e.g.
/etc/ssl/certs -> ../../var/..., then point into the tmpfs). To edit a file,
replace its symlink with a copy (cp --remove-destination DIR/.ro*/F DIR/F).
--copy-up-mode overlayfs (--mode; Linux >= 5.11): DIR becomes an overlay of the
original (lower) and a private tmpfs (upper): every entry keeps its type and
place, relative symlinks resolve as on the host, mounts below DIR are put back
on top. The kernel refuses it for a DIR with mounts below it made outside the
namespace (e.g. /run/user/UID): auto then falls back to tmpfs+symlink for that
DIR. Either way, files created in DIR live only in this namespace; nothing is
changed outside it (docs/copy-up.md). Outside a user namespace (real
root), rk-copyup refuses to mount unless its mount namespace differs from
PID 1's and its parent's: start it directly with unshare --mount.

Exit status: CMD's own (rk-copyup becomes CMD); 1 when the set-up fails (the
failing step is named); 2 for a usage error or a refused --copy-up; 126 when
CMD cannot be executed; 127 when CMD is not found.`;

export async function parseCopyUpArgs(argv: string[]): Promise<CopyUpArgs> {
  const checked = checkFlags(argv, FLAGS);
  if (checked.error) usageFail('rk-copyup', checked.error, 2);
  const args = checked.args;
  const fast = fastParse(args, FLAGS, { haltAtCommand: true }) as unknown as CopyUpArgs | undefined;
  if (fast && fast.propagation !== '' && fast['copy-up-mode'] !== '') return fast;
  const { fullParse } = await import('./full-args.js');
  return fullParse(args);
}
