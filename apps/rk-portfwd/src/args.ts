// Parsing: yargs-parser alone when the flags are valid; the full yargs parser
// (loaded only then) for --help, --version and usage errors.
import { explicitBooleans, fastParse, usageFail } from '@rk/cli/fast';
import { SocatSyntaxError, takeSocatFlags } from '@rk/portfwd';
import { FLAGS, conflict, type PortfwdArgs } from './flags.js';

export const USAGE = `Usage: rk-portfwd [options] -p SPEC [-p SPEC...]
       rk-portfwd [options] [-d] [-T SECONDS] ADDRESS1 ADDRESS2   (socat's syntax)

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

A socket file on either side (PROTO unix, absolute paths without ":"):
PARENTPATH:[CHILDIP:]CHILDPORT/unix listens on a socket file on this host;
[PARENTIP:]PARENTPORT:CHILDPATH/unix connects to a socket file as the
namespace's mount namespace sees it (PARENTPATH:CHILDPATH/unix: both). The
socket file is made fresh (never over an existing file) and removed with the
port. Options after PROTO: ,proxy-protocol=v1|v2|none (this port's PROXY
protocol header, over --proxy-protocol), e.g. 8080:80/tcp,proxy-protocol=v2.

ADDRESS1 ADDRESS2 are socat addresses: listen on ADDRESS1 (TCP-LISTEN,
TCP4-LISTEN, TCP6-LISTEN, UDP-LISTEN, UDP-RECVFROM, UNIX-LISTEN, ABSTRACT-LISTEN)
and connect each client to ADDRESS2 (TCP, TCP4, TCP6, UDP, UDP-SENDTO,
UNIX-CONNECT, UNIX-CLIENT, ABSTRACT-CONNECT); options on ADDRESS1: fork,
reuseaddr, bind=, range=, max-children=, mode=, user=, group=, unlink-early,
proxy-protocol=v1|v2|none (ours: over --proxy-protocol).
Without fork, one connection is served and rk-portfwd exits (as socat). With
--netns-pid/--state-dir, ADDRESS2 is inside the namespace (a socket file path
as its mount namespace sees it). -d, -dd: --debug; -T N: --idle-timeout N.
Anything else is refused naming it. A socket file is never made over an
existing file nor through a symlink; it is removed at exit.

Socat lines serve no ports API (--state-dir only names the namespace).
Options for every forward: --idle-timeout, --max-connections, --proxy-protocol.

Runs until SIGINT or SIGTERM (exit 0), or until the namespace's process exits;
a socat line without fork exits after its one connection. Exit status: 1 when
a port cannot be forwarded or the one connection's target refused (the reason
is printed), 2 for a usage error, a bad SPEC or socat address.`;

export async function parsePortfwdArgs(argv: string[]): Promise<PortfwdArgs> {
  let socat;
  try {
    socat = takeSocatFlags(argv);
  } catch (e) {
    if (e instanceof SocatSyntaxError) usageFail('rk-portfwd', e.message, 2);
    throw e;
  }
  const args = explicitBooleans(socat.rest, FLAGS);
  const fast = fastParse(args, FLAGS) as unknown as PortfwdArgs | undefined;
  let a: PortfwdArgs;
  const problem = fast ? conflict(fast) : undefined;
  if (fast && !problem) a = fast;
  else if (fast && fast._.length > 0) {
    usageFail('rk-portfwd', problem!, 2); // the full parser knows no positional arguments
  } else {
    const { fullParse } = await import('./full-args.js');
    a = fullParse(args);
  }
  a._ = a._.map(String);
  if (socat.debug) a.debug = true;
  if (socat.idleTimeout !== undefined) a['idle-timeout'] = socat.idleTimeout;
  return a;
}
