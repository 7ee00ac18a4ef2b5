// rk-portfwd's flags, declared once for the fast parser (yargs-parser) and
// the full yargs parser (help, --version, usage errors).
import type { FlagTable } from '@rk/cli/fast';

export const DRIVERS = ['builtin', 'slirp4netns'] as const;

export const FLAGS = {
  debug: { type: 'boolean', default: false, describe: 'print debug messages on stderr, one per connection (and UDP flow) opened and closed' },
  publish: {
    type: 'string',
    array: true,
    alias: 'p',
    default: [],
    describe: 'forward a port: [PARENTIP:]PARENTPORT[:CHILDIP]:CHILDPORT/PROTO (repeatable; "child" is the target side)',
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
  threads: number;
  _: string[];
  '--'?: string[];
}

/** The refused combinations; the message is the usage error. */
export function conflict(a: PortfwdArgs): string | undefined {
  if (a._.length > 0 || (a['--'] ?? []).length > 0) return `unexpected argument ${JSON.stringify([...a._, ...(a['--'] ?? [])][0])}: port specs go after -p`;
  if (a['netns-pid'] !== undefined && !/^[1-9]\d*$/.test(a['netns-pid'])) return `--netns-pid needs a PID, got "${a['netns-pid']}"`;
  if (a['state-dir'] === '') return '--state-dir needs a directory';
  if (a['netns-pid'] !== undefined && a['state-dir'] !== undefined) return 'give --netns-pid PID or --state-dir DIR, not both';
  if (a.publish.length === 0 && a['state-dir'] === undefined) return 'nothing to forward: give -p SPEC (repeatable), or --state-dir DIR to add ports at run time through DIR/api.sock';
  if (a['port-driver'] === 'slirp4netns' && !a['slirp4netns-api-socket']) return '--port-driver=slirp4netns needs --slirp4netns-api-socket PATH (slirp4netns --api-socket PATH)';
  if (a['port-driver'] !== 'slirp4netns' && a['slirp4netns-api-socket'] !== undefined) return '--slirp4netns-api-socket goes with --port-driver=slirp4netns';
  if (!(a['udp-timeout'] > 0)) return `--udp-timeout must be a positive number of seconds, got ${a['udp-timeout']}`;
  if (!Number.isInteger(a.threads) || a.threads < 0 || a.threads > 64) return `--threads must be 0 (auto) to 64, got ${a.threads}`;
  return undefined;
}
