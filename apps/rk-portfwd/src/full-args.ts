// The full yargs parser: help text, --version, and usage errors (exit 2).
import { baseParser } from '@rk/cli/options';
import { yargsOptions } from '@rk/cli/fast';
import { FLAGS, conflict, type PortfwdArgs } from './flags.js';
import { USAGE } from './args.js';

export function fullParse(args: string[]): PortfwdArgs {
  const opts = yargsOptions(FLAGS);
  return baseParser('rk-portfwd', args, { conflict })
    .usage(USAGE)
    .options({
      ...opts,
      publish: { ...opts.publish, requiresArg: true },
      'netns-pid': { ...opts['netns-pid'], requiresArg: true },
      'state-dir': { ...opts['state-dir'], requiresArg: true },
    })
    .parserConfiguration({ 'populate--': true, 'strip-aliased': true, 'camel-case-expansion': false, 'boolean-negation': false })
    .example('rk-portfwd -p 127.0.0.1:8080:127.0.0.1:80/tcp', 'host 127.0.0.1:8080 to 127.0.0.1:80 (like socat TCP-LISTEN:8080,fork TCP:127.0.0.1:80)')
    .example('rk-portfwd TCP-LISTEN:2375,fork,reuseaddr UNIX-CONNECT:/run/user/1000/docker.sock', 'socat\'s syntax: a port to a socket file (one connection without fork)')
    .example('rk-portfwd -p 5353:53/udp -p [::1]:8443:443/tcp6', 'several ports at once; IPv6 in brackets')
    .example('rk-portfwd --netns-pid 12345 -p 8080:80/tcp', 'into the network namespace of process 12345 (e.g. a rootlesskit child)')
    .example('rk-portfwd --state-dir S -p 8080:80/tcp', 'into S/child_pid\'s namespaces; S/api.sock serves rootlessctl')
    .parseSync() as unknown as PortfwdArgs;
}
