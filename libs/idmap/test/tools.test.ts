// Finding newuidmap/newgidmap on PATH and telling whether they can act as
// root, with stand-ins made here (the real ones are used by the integration tests).
import t, { type Test } from 'tap';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findMapTool, findOnPath } from '../src/tools.js';

function binDir(t: Test, scripts: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'rk-idmap-tools-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  for (const [name, body] of Object.entries(scripts)) {
    writeFileSync(join(d, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(d, name), 0o755);
  }
  return d;
}

function withPath(t: Test, path: string): void {
  const old = process.env.PATH;
  process.env.PATH = path;
  t.teardown(() => {
    process.env.PATH = old;
  });
}

t.test('findOnPath honours PATH order and skips non-executables', async (t) => {
  const a = binDir(t, { tool: 'exit 0' });
  const b = binDir(t, { tool: 'exit 0' });
  chmodSync(join(a, 'tool'), 0o644);
  t.equal(findOnPath('tool', `/nonexistent:${a}:${b}`), join(b, 'tool'));
  t.equal(findOnPath('tool', '/nonexistent'), undefined);
  t.equal(findOnPath(join(b, 'tool'), ''), join(b, 'tool'), 'a path is taken as is');
});

t.test('missing newuidmap: the error names the package', async (t) => {
  withPath(t, '/nonexistent');
  await t.rejects(findMapTool('newuidmap'), { name: 'RkError', message: 'newuidmap not found (Debian package "uidmap"): sudo apt-get install uidmap' });
  await t.rejects(findMapTool('newgidmap'), { message: /^newgidmap not found \(Debian package "uidmap"\): sudo apt-get install uidmap$/ });
});

t.test('not setuid root: file capabilities decide, when getfattr can tell', async (t) => {
  const noCaps = binDir(t, { newuidmap: 'exit 0', getfattr: 'echo "No such attribute" >&2; exit 1' });
  withPath(t, noCaps);
  const path = join(noCaps, 'newuidmap');
  await t.rejects(findMapTool('newuidmap'), { message: `${path} is not setuid root: sudo chmod u+s ${path} (or reinstall "uidmap")` });

  const caps = binDir(t, { newuidmap: 'exit 0', getfattr: 'printf "\\001\\000\\000\\002"' });
  process.env.PATH = caps;
  t.same(await findMapTool('newuidmap'), { name: 'newuidmap', path: join(caps, 'newuidmap'), verified: true });

  const unknown = binDir(t, { newuidmap: 'exit 0' });
  process.env.PATH = unknown;
  t.same(await findMapTool('newuidmap'), { name: 'newuidmap', path: join(unknown, 'newuidmap'), verified: false }, 'without getfattr: tried, unverified');
});

t.test('the installed newuidmap, when there is one, is setuid root', { skip: findOnPath('newuidmap', '/usr/bin') ? false : 'uidmap not installed' }, async (t) => {
  withPath(t, '/usr/bin');
  t.same(await findMapTool('newuidmap'), { name: 'newuidmap', path: '/usr/bin/newuidmap', verified: true });
});
