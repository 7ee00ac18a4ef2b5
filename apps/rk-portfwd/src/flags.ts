// rk-portfwd's flags, declared once for the fast parser (yargs-parser) and
// the full yargs parser (help, --version, usage errors).
import type { FlagTable } from '@rk/cli/fast';

export const DRIVERS = ['builtin', 'slirp4netns'] as const;
export const PROXY_VERSIONS = ['v1', 'v2'] as const;

export const FLAGS = {
  debug: { type: 'boolean', default: false, describe: 'print debug messages on stderr, one per connection (and UDP flow) opened and closed' },
  publish: {
    type: 'string',
    array: true,
    alias: 'p',
    default: [],
    describe:
      'forward a port: [PARENTIP:]PARENTPORT[:CHILDIP]:CHILDPORT/PROTO ("child" is the target side); ' +
      'a socket file on either side with proto unix: /run/app.sock:80/unix, 2375:/run/docker.sock/unix; ' +
      'options after the proto: ,proxy-protocol=v1|v2|none',
  },
  'netns-pid': { type: 'string', describe: 'targets are inside the network namespace of process PID (entered with its user namespace)' },
  'state-dir': { type: 'string', describe: 'targets are inside the namespaces of DIR/child_pid; serve DIR/api.sock (the ports API) while running' },
  'port-driver': { type: 'string', choices: DRIVERS, default: 'builtin', describe: 'builtin: our own relay; slirp4netns: ask slirp4netns (needs --slirp4netns-api-socket)' },
  'slirp4netns-api-socket': { type: 'string', describe: "slirp4netns's --api-socket (for --port-driver=slirp4netns)" },
  'child-ip': { type: 'string', describe: "slirp4netns: the namespace's IP on slirp4netns's network (default 10.0.2.100)" },
  'source-ip-transparent': {
    type: 'boolean',
    default: true,
    describe: 'into a namespace: the server inside sees the real client address (TCP and UDP; not for loopback clients)',
  },
  'udp-timeout': { type: 'number', default: 90, describe: 'seconds without a datagram after which a UDP flow (one client address) that got a reply ends (one that never did: 5 s; at most 1024 flows per port)' },
  'idle-timeout': { type: 'number', default: 0, describe: 'seconds without a byte either way after which a TCP/UNIX connection is closed (0: never; socat -T)' },
  'max-connections': { type: 'number', default: 0, describe: 'TCP/UNIX connections per port at once (0: 4096, the relay\'s cap); more are reset with one log line (socat max-children=)' },
  'proxy-protocol': { type: 'string', choices: PROXY_VERSIONS, describe: 'write a PROXY protocol header (v1 text, v2 binary) to the target before the client\'s bytes, so the server sees the client (TCP/UNIX); the default for every port, a port\'s own ,proxy-protocol= wins' },
  threads: { type: 'number', default: 0, describe: 'relay threads (0: one per CPU, at most 4)' },
} as const satisfies FlagTable;

export interface PortfwdArgs {
  debug: boolean;
  publish: string[];
  'netns-pid'?: string;
  'state-dir'?: string;
  'port-driver': (typeof DRIVERS)[number];
  'slirp4netns-api-socket'?: string;
  'child-ip'?: string;
  'source-ip-transparent': boolean;
  'udp-timeout': number;
  'idle-timeout': number;
  'max-connections': number;
  'proxy-protocol'?: (typeof PROXY_VERSIONS)[number];
  threads: number;
  _: string[];
  '--'?: string[];
}

/** The refused combinations; the message is the usage error. */
export function conflict(a: PortfwdArgs): string | undefined {
  if ((a['--'] ?? []).length > 0) return `unexpected argument ${JSON.stringify(a['--']![0])}: port specs go after -p, socat addresses before any --`;
  if (a._.length > 0 && a.publish.length > 0) return `give -p SPEC or two socat addresses (ADDRESS1 ADDRESS2), not both (unexpected ${JSON.stringify(String(a._[0]))})`;
  if (a._.length === 1 || a._.length > 2) return `socat-style use takes two addresses: rk-portfwd ADDRESS1 ADDRESS2 (e.g. TCP-LISTEN:8080,fork TCP:127.0.0.1:80), got ${a._.length}`;
  if (a._.length === 2 && a['port-driver'] !== 'builtin') return 'socat addresses go with the builtin port driver only';
  if (a['netns-pid'] !== undefined && !/^[1-9]\d*$/.test(a['netns-pid'])) return `--netns-pid needs a PID, got "${a['netns-pid']}"`;
  if (a['state-dir'] === '') return '--state-dir needs a directory';
  if (a['netns-pid'] !== undefined && a['state-dir'] !== undefined) return 'give --netns-pid PID or --state-dir DIR, not both';
  if (a.publish.length === 0 && a._.length === 0 && a['state-dir'] === undefined) return 'nothing to forward: give -p SPEC (repeatable), or --state-dir DIR to add ports at run time through DIR/api.sock';
  if (a['port-driver'] === 'slirp4netns' && !a['slirp4netns-api-socket']) return '--port-driver=slirp4netns needs --slirp4netns-api-socket PATH (slirp4netns --api-socket PATH)';
  if (a['port-driver'] !== 'slirp4netns' && a['slirp4netns-api-socket'] !== undefined) return '--slirp4netns-api-socket goes with --port-driver=slirp4netns';
  if (!(a['udp-timeout'] > 0)) return `--udp-timeout must be a positive number of seconds, got ${a['udp-timeout']}`;
  if (!(a['idle-timeout'] >= 0)) return `--idle-timeout must be 0 (never) or a number of seconds, got ${a['idle-timeout']}`;
  if (!Number.isInteger(a['max-connections']) || a['max-connections'] < 0 || a['max-connections'] > 4096) return `--max-connections must be 0 (the cap, 4096) to 4096, got ${a['max-connections']}`;
  if (!Number.isInteger(a.threads) || a.threads < 0 || a.threads > 64) return `--threads must be 0 (auto) to 64, got ${a.threads}`;
  return undefined;
}
