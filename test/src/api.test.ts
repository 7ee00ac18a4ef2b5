// The REST API side by side with upstream RootlessKit (Debian's rootlesskit package):
// our rootlessctl against upstream's api.sock, and upstream's rootlessctl against our server.
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError, startApiServer, validatePortSpec, type Info, type PortManager, type PortSpec, type PortStatus } from '@rk/api';
import { binDir, run, start, tempDir, waitFor, type RunResult } from './harness.js';

const UPSTREAM_KIT = '/usr/bin/rootlesskit';
const UPSTREAM_CTL = '/usr/bin/rootlessctl';
const OURS = join(binDir, 'rootlessctl');
const haveUpstream = existsSync(UPSTREAM_KIT) && existsSync(UPSTREAM_CTL);

/** The error text without the program's prefix ("error: " upstream, "rootlessctl: error: " ours). */
const errText = (r: RunResult) => r.stderr.trim().replace(/^(rootlessctl: )?error: /, '');

/** A table's header, then its rows sorted (upstream lists ports in no fixed order). */
const sortedTable = (s: string) => {
  const [head, ...rows] = s.split('\n').filter((l) => l !== '');
  return [head, ...rows.sort()].join('\n');
};
const sortedLines = (s: string) => s.split('\n').filter((l) => l !== '').sort().join('\n');

/** Starts upstream rootlesskit as the test user with a fresh state dir; stops it at teardown. */
async function upstreamKit(t: Test, flags: string[]): Promise<string> {
  const dir = tempDir('rk-api-');
  const stateDir = join(dir, 'state');
  const child = start([UPSTREAM_KIT, '--state-dir', stateDir, ...flags, 'sleep', '120'], { detached: true });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  let exited = false;
  child.on('exit', () => (exited = true));
  t.teardown(async () => {
    if (!exited) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      await new Promise((r) => child.once('exit', r));
    }
    run(['rm', '-rf', dir]);
  });
  await waitFor(() => exited || (existsSync(join(stateDir, 'api.sock')) && existsSync(join(stateDir, 'child_pid'))), 20_000);
  if (exited) throw new Error(`upstream rootlesskit exited early: ${stderr}`);
  return join(stateDir, 'api.sock');
}

/** Runs a command as the current user without blocking the event loop (our server runs in this process). */
function runHere(argv: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, signal: (err?.signal as NodeJS.Signals | undefined) ?? null, stdout, stderr });
    });
  });
}

t.test('our rootlessctl on upstream rootlesskit --net=host', { skip: !haveUpstream && 'upstream rootlesskit not installed' }, async (t) => {
  const sock = await upstreamKit(t, ['--net=host']);
  for (const args of [['info'], ['info', '--json']]) {
    const theirs = run([UPSTREAM_CTL, '--socket', sock, ...args]);
    const ours = run([OURS, '--socket', sock, ...args]);
    t.equal(theirs.code, 0, `upstream ${args.join(' ')}: exit 0`);
    t.equal(ours.code, 0, `ours ${args.join(' ')}: exit 0 (${ours.stderr.trim()})`);
    t.equal(ours.stdout, theirs.stdout, `${args.join(' ')}: same output`);
  }
  const info = JSON.parse(run([OURS, '--socket', sock, 'info', '--json']).stdout) as Info;
  t.strictSame(Object.keys(info), ['apiVersion', 'version', 'stateDir', 'childPID'], 'no driver fields for --net=host');
  t.equal(info.apiVersion, '1.1.1');

  const byEnv = run([OURS, 'info'], { env: { ROOTLESSKIT_STATE_DIR: join(sock, '..') } });
  t.equal(byEnv.code, 0, 'socket found through $ROOTLESSKIT_STATE_DIR');
  t.match(byEnv.stdout, `- Child PID: ${info.childPID}\n`);

  for (const args of [['list-ports'], ['list-ports', '--json'], ['add-ports', '127.0.0.1:18080:80/tcp'], ['remove-ports', '1']]) {
    const theirs = run([UPSTREAM_CTL, '--socket', sock, ...args]);
    const ours = run([OURS, '--socket', sock, ...args]);
    t.equal(ours.code, 1, `ours ${args.join(' ')}: exit 1`);
    t.equal(ours.code, theirs.code, `${args.join(' ')}: same exit status`);
    t.equal(errText(ours), 'no PortDriver is available', `${args.join(' ')}: the server's message`);
    t.equal(errText(ours), errText(theirs), `${args.join(' ')}: same message`);
    t.equal(ours.stdout, '');
  }
});

t.test('our rootlessctl on upstream rootlesskit with the builtin port driver', {
  skip: (!haveUpstream && 'upstream rootlesskit not installed') || (!existsSync('/usr/bin/slirp4netns') && 'slirp4netns not installed'),
}, async (t) => {
  const sock = await upstreamKit(t, ['--net=slirp4netns', '--port-driver=builtin', '--copy-up=/etc']);
  const up = (...args: string[]) => run([UPSTREAM_CTL, '--socket', sock, ...args]);
  const our = (...args: string[]) => run([OURS, '--socket', sock, ...args]);
  for (const args of [['info'], ['info', '--json']]) {
    const ours = our(...args);
    t.equal(ours.code, 0, `${args.join(' ')}: exit 0`);
    t.equal(ours.stdout, up(...args).stdout, `${args.join(' ')}: same output`);
  }
  t.equal(our('list-ports').stdout, up('list-ports').stdout, 'empty table: same header');
  t.equal(our('list-ports', '--json').stdout, '', 'no ports: no JSON lines');

  const base = 20000 + (process.pid % 10000) * 2;
  const a = up('add-ports', `127.0.0.1:${base}:80/tcp`, `127.0.0.1:${base + 1}:10.0.2.100:53/udp`);
  t.equal(a.code, 0, `upstream add-ports (${a.stderr.trim()})`);
  t.equal(a.stdout, '1\n2\n');
  const b = our('add-ports', `[::1]:${base}:80/tcp`);
  t.equal(b.code, 0, `our add-ports (${b.stderr.trim()})`);
  t.equal(b.stdout, '3\n', 'prints the new ID');
  const c = our('add-ports', '--json', `127.0.0.1:${base + 2}:81/tcp`);
  t.equal(c.stdout, `{"id":4,"spec":{"proto":"tcp","parentIP":"127.0.0.1","parentPort":${base + 2},"childPort":81}}\n`, 'add-ports --json');

  const theirsTable = up('list-ports').stdout;
  t.equal(sortedTable(our('list-ports').stdout), sortedTable(theirsTable), 'list-ports: same table');
  t.match(theirsTable, new RegExp(`^2 +udp +127\\.0\\.0\\.1 +${base + 1} +10\\.0\\.2\\.100 +53 +$`, 'm'));
  t.equal(sortedLines(our('list-ports', '--json').stdout), sortedLines(up('list-ports', '--json').stdout), 'list-ports --json: same lines');

  const conflictOurs = our('add-ports', `127.0.0.1:${base}:8080/tcp`);
  const conflictTheirs = up('add-ports', `127.0.0.1:${base}:8080/tcp`);
  t.equal(conflictOurs.code, 1, 'conflict: exit 1');
  t.equal(errText(conflictOurs), 'conflict with ID 1');
  t.equal(errText(conflictOurs), errText(conflictTheirs), 'conflict: same message');

  const bad = our('add-ports', `localhost:${base}:80/tcp`);
  t.equal(bad.code, 2, 'a bad spec is a usage error');
  t.match(bad.stderr, /^rootlessctl: error: invalid port spec .*expected \[PARENTIP:\]PARENTPORT\[:CHILDIP\]:CHILDPORT\/PROTO/);

  const rm = our('remove-ports', '1', '3');
  t.equal(rm.code, 0);
  t.equal(rm.stdout, '1\n3\n', 'remove-ports prints each removed ID');
  t.notMatch(up('list-ports').stdout, /^(1|3) /m, 'gone for upstream too');
  const unknownOurs = our('remove-ports', '1');
  t.equal(unknownOurs.code, 1);
  t.equal(errText(unknownOurs), 'unknown id: 1');
  t.equal(errText(unknownOurs), errText(up('remove-ports', '1')), 'unknown id: same message');
});

/** A port driver that only keeps a table, as far as the API can tell the difference. */
class TablePorts implements PortManager {
  private ports = new Map<number, PortStatus>();
  private next = 1;
  list(): PortStatus[] {
    return [...this.ports.values()];
  }
  async add(spec: PortSpec): Promise<PortStatus> {
    validatePortSpec(spec, this.ports.values());
    const st = { id: this.next++, spec };
    this.ports.set(st.id, st);
    return st;
  }
  async remove(id: number): Promise<void> {
    if (!this.ports.delete(id)) throw new ApiError(400, `unknown id: ${id}`);
  }
}

t.test('upstream rootlessctl on our server', { skip: !existsSync(UPSTREAM_CTL) && 'upstream rootlessctl not installed' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rk-api-ours-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const hostInfo: Info = { apiVersion: '1.1.1', version: '0.1.0', stateDir: dir, childPID: 4242 };
  const slirpInfo: Info = {
    ...hostInfo,
    networkDriver: { driver: 'slirp4netns', dns: ['10.0.2.3'], childIP: '10.0.2.100' },
    portDriver: { driver: 'builtin', protos: ['tcp', 'tcp4', 'tcp6', 'udp', 'udp4', 'udp6'] },
  };
  const hostSock = join(dir, 'host.sock');
  const portSock = join(dir, 'api.sock');
  const host = await startApiServer({ socketPath: hostSock, info: () => hostInfo });
  const ported = await startApiServer({ socketPath: portSock, info: () => slirpInfo, ports: new TablePorts() });
  t.teardown(() => Promise.all([host.close(), ported.close()]));
  const up = (sock: string, ...args: string[]) => runHere([UPSTREAM_CTL, '--socket', sock, ...args]);
  const our = (sock: string, ...args: string[]) => runHere([OURS, '--socket', sock, ...args]);

  let r = await up(hostSock, 'info');
  t.equal(r.code, 0, `info: exit 0 (${r.stderr.trim()})`);
  t.equal(r.stdout, `- REST API version: 1.1.1\n- Implementation version: 0.1.0\n- State Directory: ${dir}\n- Child PID: 4242\n`);
  r = await up(hostSock, 'info', '--json');
  t.equal(r.code, 0);
  t.strictSame(JSON.parse(r.stdout), hostInfo, 'info --json');
  r = await up(hostSock, 'list-ports');
  t.equal(r.code, 1, 'no port driver: list-ports fails');
  t.equal(r.stderr.trim(), 'error: no PortDriver is available');

  r = await up(portSock, 'info');
  t.equal(r.code, 0);
  t.equal(
    r.stdout,
    `- REST API version: 1.1.1\n- Implementation version: 0.1.0\n- State Directory: ${dir}\n- Child PID: 4242\n` +
      '- Network Driver: slirp4netns\n  - DNS: [10.0.2.3]\n  - IP: 10.0.2.100\n' +
      '- Port Driver: builtin\n  - Supported protocols: [tcp tcp4 tcp6 udp udp4 udp6]\n',
  );
  r = await up(portSock, 'info', '--json');
  t.strictSame(JSON.parse(r.stdout), slirpInfo);
  t.equal(r.stdout, (await our(portSock, 'info', '--json')).stdout, 'info --json: ours prints the same bytes');

  r = await up(portSock, 'list-ports');
  t.equal(r.code, 0, `list-ports: exit 0 (${r.stderr.trim()})`);
  t.equal(r.stdout, 'ID    PROTO    PARENTIP    PARENTPORT    CHILDIP    CHILDPORT    \n');

  r = await up(portSock, 'add-ports', '127.0.0.1:8080:80/tcp', '[::1]:8081:80/tcp', '0.0.0.0:5353:10.0.2.100:53/udp');
  t.equal(r.code, 0, `add-ports (${r.stderr.trim()})`);
  t.equal(r.stdout, '1\n2\n3\n');
  r = await up(portSock, 'add-ports', '127.0.0.1:8080:80/tcp');
  t.equal(r.code, 1);
  t.equal(r.stderr.trim(), 'error: conflict with ID 1');

  r = await up(portSock, 'list-ports');
  t.equal(
    r.stdout,
    'ID    PROTO    PARENTIP     PARENTPORT    CHILDIP       CHILDPORT    \n' +
      '1     tcp      127.0.0.1    8080                        80           \n' +
      '2     tcp      ::1          8081                        80           \n' +
      '3     udp      0.0.0.0      5353          10.0.2.100    53           \n',
  );
  t.equal((await our(portSock, 'list-ports')).stdout, r.stdout, 'list-ports: ours prints the same table');
  r = await up(portSock, 'list-ports', '--json');
  t.equal(
    r.stdout,
    '{"id":1,"spec":{"proto":"tcp","parentIP":"127.0.0.1","parentPort":8080,"childPort":80}}\n' +
      '{"id":2,"spec":{"proto":"tcp","parentIP":"::1","parentPort":8081,"childPort":80}}\n' +
      '{"id":3,"spec":{"proto":"udp","parentIP":"0.0.0.0","parentPort":5353,"childPort":53,"childIP":"10.0.2.100"}}\n',
  );
  t.equal((await our(portSock, 'list-ports', '--json')).stdout, r.stdout, 'list-ports --json: ours prints the same lines');

  r = await up(portSock, 'remove-ports', '2');
  t.equal(r.code, 0);
  t.equal(r.stdout, '2\n');
  r = await up(portSock, 'remove-ports', '2');
  t.equal(r.code, 1);
  t.equal(r.stderr.trim(), 'error: unknown id: 2');
  t.notMatch((await up(portSock, 'list-ports')).stdout, /^2 /m);
});

t.test('our rootlessctl without a socket', async (t) => {
  const r = run([OURS, 'info'], { env: { ROOTLESSKIT_STATE_DIR: '' } });
  t.equal(r.code, 2);
  t.match(r.stderr, /^rootlessctl: error: .*--socket.*\$ROOTLESSKIT_STATE_DIR/);
  const dead = run([OURS, '--socket', '/nonexistent/api.sock', 'list-ports']);
  t.equal(dead.code, 1);
  t.match(dead.stderr, /^rootlessctl: error: cannot reach the RootlessKit API at \/nonexistent\/api\.sock \(ENOENT\): is rootlesskit running\?/);
  const usage = run([OURS, 'frobnicate']);
  t.equal(usage.code, 2, 'unknown command: usage error');
  t.equal(usage.stderr.split('\n').filter(Boolean).length, 1, 'one line');
});
