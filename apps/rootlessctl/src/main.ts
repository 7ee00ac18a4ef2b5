// rootlessctl: client of RootlessKit's REST API, command-line compatible with upstream's.
import { writeSync } from 'node:fs';
import { join } from 'node:path';
import { Logger, RkError, runMain } from '@rk/cli';
import { ApiClient, PORT_SPEC_FORM, parsePortSpec, toJson, type PortSpec } from '@rk/api';
import { formatInfo, formatPorts } from './format.js';
import { parseCtlArgs } from './args.js';
import type { CtlArgs } from './flags.js';

const PROG = 'rootlessctl';

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

function socketOf(a: CtlArgs): string {
  if (a.socket) return a.socket;
  const dir = process.env.ROOTLESSKIT_STATE_DIR;
  if (dir) return join(dir, 'api.sock');
  throw new RkError(
    'no API socket: pass --socket PATH (e.g. STATE_DIR/api.sock) or set $ROOTLESSKIT_STATE_DIR to rootlesskit\'s state dir',
    2,
  );
}

const log = new Logger(PROG, false);

function client(a: CtlArgs): ApiClient {
  const path = socketOf(a);
  log.debug(`API socket: ${path}`);
  return new ApiClient(path);
}

async function act(a: CtlArgs): Promise<void> {
  switch (a.command) {
    case 'info': {
      const info = await client(a).info();
      out(a.json ? `${toJson(info, 4)}\n` : formatInfo(info));
      return;
    }
    case 'list-ports': {
      const ports = await client(a).listPorts();
      out(a.json ? ports.map((p) => `${toJson(p)}\n`).join('') : formatPorts(ports));
      return;
    }
    case 'add-ports': {
      if (a.words.length === 0) throw new RkError(`no port specified: give one or more ${PORT_SPEC_FORM}`, 2);
      const specs: PortSpec[] = a.words.map(parsePortSpec); // all checked before any is added
      const c = client(a);
      for (const spec of specs) {
        const st = await c.addPort(spec);
        out(a.json ? `${toJson(st)}\n` : `${st.id}\n`);
      }
      return;
    }
    case 'remove-ports': {
      if (a.words.length === 0) throw new RkError(`no ID specified: give one or more port IDs (see "${PROG} list-ports")`, 2);
      const ids = a.words.map(parseId);
      const c = client(a);
      for (const id of ids) {
        await c.removePort(id);
        out(`${id}\n`);
      }
      return;
    }
  }
}

runMain(log, async () => {
  const a = await parseCtlArgs(process.argv.slice(2));
  if (!a) return;
  log.debugEnabled = a.debug;
  await act(a);
});
