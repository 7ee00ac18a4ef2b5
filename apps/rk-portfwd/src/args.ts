// Parsing: yargs-parser alone when the flags are valid; the full yargs parser
// (loaded only then) for --help, --version and usage errors.
import { explicitBooleans, fastParse } from '@rk/cli/fast';
import { FLAGS, conflict, type PortfwdArgs } from './flags.js';

export const USAGE = `Usage: rk-portfwd [options] -p SPEC [-p SPEC...]

Forward ports. SPEC is [PARENTIP:]PARENTPORT[:CHILDIP]:CHILDPORT/PROTO (IPv6 in
brackets; PROTO tcp, tcp4, tcp6, udp, udp4 or udp6): listen on PARENTIP:PARENTPORT
on this host and connect each client to CHILDIP:CHILDPORT ("child" is the target):
on this host (a socat replacement), or inside a network namespace: --netns-pid PID,
or --state-dir DIR (the process in DIR/child_pid; DIR/api.sock then serves the
ports API, so that "rootlessctl add-ports/remove-ports/list-ports" change the
ports at run time). Without CHILDIP the target is 127.0.0.1 (or PARENTIP when that is a specific
address), as rootlesskit's builtin port driver chooses. Bytes are moved by native
threads with splice(2), never through JavaScript. "tcp" listens on IPv4 and IPv6,
"tcp4"/"tcp6" on one only. Into a namespace, the server inside sees the client's
real address (TCP and UDP), except for clients on the loopback.

Runs until SIGINT or SIGTERM (exit 0), or until the namespace's process exits.
Exit status: 1 when a port cannot be forwarded (the reason is printed), 2 for a
usage error or a bad SPEC.`;

export async function parsePortfwdArgs(argv: string[]): Promise<PortfwdArgs> {
  const args = explicitBooleans(argv, FLAGS);
  const fast = fastParse(args, FLAGS) as unknown as PortfwdArgs | undefined;
  if (fast && !conflict(fast)) return fast;
  const { fullParse } = await import('./full-args.js');
  return fullParse(args);
}
