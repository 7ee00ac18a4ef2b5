import type { Argv } from 'yargs';

const PROPAGATIONS = ['rprivate', 'private', 'rslave', 'slave', 'rshared', 'shared'];

export function parseCopyUpArgs(y: Argv<{ debug: boolean }>) {
  return y
    .usage(
      `Usage: rk-copyup [options] -- CMD [ARGS...]

Run inside a mount namespace (made by rk-unshare --mount, or unshare --mount):
set the propagation of /, make each --copy-up directory writable, then exec CMD
(default: $SHELL) in place of rk-copyup.

tmpfs+symlink copy-up of DIR: a tmpfs is mounted on DIR, the original DIR stays
reachable (read-only to you when root owns it) as DIR/.ro<random>, and DIR gets
one symlink per original entry into it (entries that were symlinks keep their
own target). Files created in DIR live only in this namespace; to edit a file,
replace its symlink with a copy (cp --remove-destination DIR/.ro*/F DIR/F).
Nothing is changed outside the namespace. Outside a user namespace (real
root), rk-copyup refuses to mount unless its mount namespace differs from
PID 1's and its parent's: start it directly with unshare --mount.

Exit status: CMD's own (rk-copyup becomes CMD); 1 when the set-up fails (the
failing step is named); 2 for a usage error or a refused --copy-up; 126 when
CMD cannot be executed; 127 when CMD is not found.`,
    )
    .option('propagation', {
      type: 'string',
      default: 'rprivate',
      requiresArg: true,
      describe: `mount propagation set on / first: ${PROPAGATIONS.join(', ')} (rshared and shared cannot be used with --copy-up)`,
    })
    .option('copy-up', {
      type: 'string',
      array: true,
      nargs: 1,
      default: [] as string[],
      describe: 'absolute directory to make writable (repeatable)',
    })
    .option('copy-up-mode', {
      type: 'string',
      default: 'tmpfs+symlink',
      requiresArg: true,
      describe: 'how --copy-up works: tmpfs+symlink (the only mode so far)',
    })
    .example('unshare --user --map-root-user --mount -- rk-copyup --copy-up /etc -- sh -c "echo x > /etc/foo"', 'a writable /etc for one command')
    .example('rk-unshare --user --mount --map-auto -- rk-copyup --copy-up /etc --copy-up /run -- dockerd', 'what rootless Docker needs')
    .example('rk-unshare --user --mount --map-auto -- rk-copyup --propagation rslave -- sh', 'only set propagation (host mounts show up inside)')
    .parseSync();
}

export type CopyUpArgs = ReturnType<typeof parseCopyUpArgs>;
