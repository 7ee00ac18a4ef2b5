// rootlessctl: client of RootlessKit's REST API, command-line compatible with upstream's.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { writeSync } from 'node:fs';
import { join } from 'node:path';
import { isatty } from 'node:tty';
import { Logger, RkError, runMain } from '@rk/cli';
import { ApiClient, PORT_SPEC_FORM, parsePortSpec, toJson, type PortSpec } from '@rk/api';
import { formatInfo, formatPorts } from './format.js';

const PROG = 'rootlessctl';
const VERSION = '0.1.0';

/** Writes to stdout synchronously, so nothing is lost when an error exits right after. */
function out(text: string): void {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(1, buf, off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
  }
}

function parseId(s: string): number {
  const n = /^[+-]?\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new RkError(`invalid port ID ${JSON.stringify(s)}: expected a number as "${PROG} list-ports" shows`, 2);
  }
  return n;
}

/** The words given for a variadic positional (yargs 18 reports none as [undefined]). */
function given(v: unknown): string[] {
  return (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x) => x !== undefined && x !== null).map(String);
}

interface Globals {
  socket?: string;
  debug: boolean;
}

function socketOf(g: Globals): string {
  if (g.socket) return g.socket;
  const dir = process.env.ROOTLESSKIT_STATE_DIR;
  if (dir) return join(dir, 'api.sock');
  throw new RkError(
    'no API socket: pass --socket PATH (e.g. STATE_DIR/api.sock) or set $ROOTLESSKIT_STATE_DIR to rootlesskit\'s state dir',
    2,
  );
}

/** `help [COMMAND]` and `h` (as upstream's CLI has them) become --help. */
function rewriteHelp(args: string[]): string[] {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') break;
    if (a === '--socket') {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    if (a === 'help' || a === 'h') return [...args.slice(0, i), ...args.slice(i + 1), '--help'];
    break;
  }
  return args;
}

function main(): void {
  const args = rewriteHelp(hideBin(process.argv));
  const log = new Logger(PROG, false);
  const client = (g: Globals): ApiClient => {
    const path = socketOf(g);
    log.debug(`API socket: ${path}`);
    return new ApiClient(path);
  };
  let action: ((g: Globals) => Promise<void>) | undefined;

  const parser = yargs(args)
    .scriptName(PROG)
    // one line per usage() call: yargs 17's layout mis-wraps text containing newlines
    .usage(`${PROG} [--socket PATH] [--debug] COMMAND [ARGS...]\n`)
    .usage("Client of the RootlessKit REST API: shows a running rootlesskit's state and adds")
    .usage('or removes forwarded ports.')
    .parserConfiguration({ 'parse-positional-numbers': false, 'strip-aliased': true })
    .strict()
    .option('socket', {
      type: 'string',
      requiresArg: true,
      describe: "api.sock in rootlesskit's --state-dir",
      defaultDescription: '$ROOTLESSKIT_STATE_DIR/api.sock',
    })
    .option('debug', { type: 'boolean', default: false, describe: 'print debug messages on stderr' })
    .command(
      'list-ports',
      'List ports',
      (y) => y.option('json', { type: 'boolean', default: false, describe: 'print one JSON object per port' }),
      (a) => {
        action = async (g) => {
          const ports = await client(g).listPorts();
          if (a.json) out(ports.map((p) => `${toJson(p)}\n`).join(''));
          else out(formatPorts(ports));
        };
      },
    )
    .command(
      'add-ports [spec..]',
      'Add ports',
      (y) =>
        y
          .positional('spec', { type: 'string', array: true, default: undefined, describe: PORT_SPEC_FORM })
          .option('json', { type: 'boolean', default: false, describe: 'print each new port as JSON instead of its ID' })
          .example(`${PROG} add-ports 127.0.0.1:8080:80/tcp`, 'host 127.0.0.1:8080 to port 80 inside')
          .example(`${PROG} add-ports '[::1]:8080:80/tcp6'`, 'IPv6 addresses go in brackets'),
      (a) => {
        const texts = given(a.spec);
        action = async (g) => {
          if (texts.length === 0) throw new RkError(`no port specified: give one or more ${PORT_SPEC_FORM}`, 2);
          const specs: PortSpec[] = texts.map(parsePortSpec); // all checked before any is added
          const c = client(g);
          for (const spec of specs) {
            const st = await c.addPort(spec);
            out(a.json ? `${toJson(st)}\n` : `${st.id}\n`);
          }
        };
      },
    )
    .command(
      'remove-ports [id..]',
      'Remove ports',
      (y) => y.positional('id', { type: 'string', array: true, default: undefined, describe: 'port IDs, as list-ports shows them' }),
      (a) => {
        const texts = given(a.id);
        action = async (g) => {
          if (texts.length === 0) throw new RkError(`no ID specified: give one or more port IDs (see "${PROG} list-ports")`, 2);
          const ids = texts.map(parseId);
          const c = client(g);
          for (const id of ids) {
            await c.removePort(id);
            out(`${id}\n`);
          }
        };
      },
    )
    .command(
      'info',
      'Show info',
      (y) => y.option('json', { type: 'boolean', default: false, describe: 'print as JSON' }),
      (a) => {
        action = async (g) => {
          const info = await client(g).info();
          out(a.json ? `${toJson(info, 4)}\n` : formatInfo(info));
        };
      },
    )
    .command('$0', false, () => {}, () => {
      action = async () => {
        parser.showHelp((s: string) => out(`${s}\n`));
      };
    })
    .epilog(
      'Exit status: 0 on success, 1 when the API fails or cannot be reached, 2 on a usage error.\n' +
        `Port spec: ${PORT_SPEC_FORM}\n` +
        '  PROTO: tcp, tcp4, tcp6, udp, udp4, udp6, sctp, sctp4 or sctp6; IPv6 addresses in brackets.',
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

  const argv = parser.parseSync() as unknown as Globals;
  if (!action) return;
  const run = action;
  log.debugEnabled = argv.debug;
  runMain(log, () => run(argv));
}

main();
