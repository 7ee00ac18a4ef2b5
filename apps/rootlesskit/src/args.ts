// Parsing: yargs-parser alone when the flags are valid; the full yargs parser
// (loaded only then) for --help, --version and usage errors.
import { checkFlags, fastParse, usageFail } from '@rk/cli/fast';
import { FLAGS, type Args } from './flags.js';

export const USAGE = `Usage: rootlesskit [flags] CMD [ARGS...]

Runs CMD as "root" in a new user namespace (the caller mapped to root, the
/etc/subuid and /etc/subgid ranges mapped below it) and a new mount namespace,
optionally with more namespaces and copied-up directories.

  rootlesskit bash                      a shell with a user and a mount namespace
  rootlesskit --copy-up=/etc bash       /etc made writable (tmpfs + symlinks)
  rootlesskit --propagation=rslave bash
  rootlesskit --pidns --utsns bash      own PIDs (fresh /proc) and hostname

Needs entries for the caller in /etc/subuid and /etc/subgid, and newuidmap/newgidmap
(Debian package "uidmap"). Exit status: CMD's own; 255 when CMD is killed by a signal;
1 when set-up fails or the flags are wrong (as upstream); 127/126 when CMD is not
found / cannot run.`;

export async function parseArgs(argv: string[], version: string): Promise<Args> {
  const checked = checkFlags(argv, FLAGS);
  if (checked.error) usageFail('rootlesskit', checked.error, 1);
  const args = checked.args;
  const fast = fastParse(args, FLAGS, { haltAtCommand: true });
  if (fast) return fast as unknown as Args;
  const { fullParse } = await import('./full-args.js');
  return fullParse(args, version);
}
