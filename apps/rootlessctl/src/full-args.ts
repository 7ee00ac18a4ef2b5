// The full yargs parser: help text, --version, a call with no subcommand
// (prints the help), and usage errors (exit 2). Loaded only for those.
import yargs from 'yargs';
import { writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import { PORT_SPEC_FORM, UNIX_SPEC_FORM } from '@rk/api';
import { VERSION } from '@rk/cli/options';
import { FLAGS, SUBCOMMANDS, type CtlArgs, type SubcommandName } from './flags.js';
import { yargsOptions } from '@rk/cli/fast';

const PROG = 'rootlessctl';

/** The words given for a variadic positional (yargs 18 reports none as [undefined]). */
function given(v: unknown): string[] {
  return (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x) => x !== undefined && x !== null).map(String);
}

function out(text: string): void {
  writeSync(1, text);
}

export function fullParse(args: string[]): CtlArgs | undefined {
  let result: CtlArgs | undefined;
  const globals = yargsOptions(FLAGS);
  let parser = yargs(args)
    .scriptName(PROG)
    // one line per usage() call: yargs 17's layout mis-wraps text containing newlines
    .usage(`${PROG} [--socket PATH] [--debug] COMMAND [ARGS...]\n`)
    .usage("Client of the RootlessKit REST API: shows a running rootlesskit's state and adds")
    .usage('or removes forwarded ports.')
    .parserConfiguration({ 'parse-positional-numbers': false, 'strip-aliased': true })
    .strict()
    .options({
      socket: { ...globals.socket, requiresArg: true },
      debug: globals.debug!,
    });
  for (const [name, spec] of Object.entries(SUBCOMMANDS)) {
    const command = name as SubcommandName;
    const pos = spec.positional === 'none' ? '' : ` [${spec.positional}..]`;
    parser = parser.command(
      `${name}${pos}`,
      spec.describe,
      (y) => {
        let c = y.options(yargsOptions(spec.flags));
        if (spec.positional !== 'none') {
          c = c.positional(spec.positional, { type: 'string', array: true, default: undefined, describe: spec.positionalDescribe });
        }
        if (command === 'add-ports') {
          c = c
            .example(`${PROG} add-ports 127.0.0.1:8080:80/tcp`, 'host 127.0.0.1:8080 to port 80 inside')
            .example(`${PROG} add-ports '[::1]:8080:80/tcp6'`, 'IPv6 addresses go in brackets')
            .example(`${PROG} add-ports /tmp/web.sock:80/unix`, 'a socket file on the host to port 80 inside')
            .example(`${PROG} add-ports 2375:/run/docker.sock/unix`, 'host port 2375 to a socket file inside')
            .example(`${PROG} add-ports 8080:80/tcp,proxy-protocol=v2`, 'PROXY v2 header: the client address');
        }
        return c;
      },
      (a) => {
        result = {
          command,
          socket: a.socket as string | undefined,
          debug: a.debug === true,
          json: (a as { json?: boolean }).json === true,
          words: spec.positional === 'none' ? [] : given((a as Record<string, unknown>)[spec.positional]),
        };
      },
    );
  }
  parser = parser
    .command('$0', false, () => {}, () => {
      parser.showHelp((s: string) => out(`${s}\n`));
    })
    .epilog(
      'Exit status: 0 on success, 1 when the API fails or cannot be reached, 2 on a usage error.\n' +
        `Port spec: ${PORT_SPEC_FORM}\n` +
        '  PROTO: tcp, tcp4, tcp6, udp, udp4, udp6, sctp, sctp4 or sctp6; IPv6 addresses in brackets.\n' +
        `  A socket file on either side (ours; builtin port driver): ${UNIX_SPEC_FORM}.\n` +
        '  Options after PROTO (ours): ,proxy-protocol=v1|v2|none.',
    )
    .help('help')
    .alias('help', 'h')
    .version('version', 'print the version', `${PROG} version ${VERSION}`)
    .alias('version', 'v')
    .wrap(isatty(1) ? Math.min(110, process.stdout.columns || 100) : 100)
    .fail((msg, err) => {
      const text = msg || (err ? err.message : 'invalid arguments');
      try {
        writeSync(2, `${PROG}: error: ${text.split('\n')[0]} (see ${PROG} --help)\n`);
      } catch {
        // stderr closed
      }
      process.exit(2);
    });
  parser.parseSync();
  return result;
}
