// Parsing: yargs-parser alone when the flags are valid; the full yargs parser
// (loaded only then) for --help, --version and usage errors.
import { checkFlags, fastParse, usageFail } from '@rk/cli/fast';
import { FLAGS, type BypassCmdArgs } from './flags.js';

export const USAGE = `Usage: rk-bypass --state-dir DIR -- CMD [ARGS...]     (inside the namespace)
       rk-bypass --supervise --state-dir DIR [options]   (outside)

Socket bypass. Inside the namespace (as root of its user namespace, e.g. as
the command of rk-unshare --user --net, after rk-copyup), rk-bypass installs a
seccomp filter that sends connect() calls to the supervisor, hands the
filter's listener to it through DIR/bypass.sock, and execs CMD with its
environment and fds unchanged. Outside, rk-bypass --supervise answers each
connect() of a TCP or UDP socket to a destination that leaves the namespace by
its default route with a socket made and connected in its own (the host's)
network namespace, put in place under the same fd number; everything else
(loopback, the namespace's own networks, the gateway and DNS addresses,
nested namespaces unless --bypass-nested, --bypass-ignore subnets) stays in
the namespace. The host's loopback is never reached. Start the supervisor
first: it makes DIR/bypass.sock. Counters: DIR/bypass.json. See docs/bypass.md.

Exit status: inside, CMD's own (rk-bypass becomes CMD), 1 when the filter
cannot be installed or handed over, 126/127 when CMD cannot be run; with
--supervise, 0 once done or signalled, 1 on a set-up error; 2 for a usage error.`;

export async function parseBypassArgs(argv: string[]): Promise<BypassCmdArgs> {
  const checked = checkFlags(argv, FLAGS);
  if (checked.error) usageFail('rk-bypass', checked.error, 2);
  const args = checked.args;
  const fast = fastParse(args, FLAGS, { haltAtCommand: true }) as unknown as BypassCmdArgs | undefined;
  if (fast && conflict(fast) === undefined) return fast;
  const { fullParse } = await import('./full-args.js');
  return fullParse(args);
}

export function conflict(a: BypassCmdArgs): string | undefined {
  if (a['state-dir'] === undefined) return '--state-dir DIR is required (the namespace\'s state dir, e.g. rk-unshare --state-dir DIR)';
  const cmd = [...a._, ...(a['--'] ?? [])];
  if (a.supervise && cmd.length > 0) return `unexpected command ${cmd[0]}: --supervise runs outside the namespace, without a command`;
  if (!a.supervise && cmd.length === 0) return 'give the command to run: rk-bypass --state-dir DIR -- CMD (or --supervise, outside)';
  return undefined;
}
