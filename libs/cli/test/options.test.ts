// The shared yargs conventions: a one-line usage error naming the bad flag
// (exit 2, or the command's own status), and the command after the flags.
import t from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { baseParser, commandOf, VERSION } from '../src/options.js';

const dist = pathToFileURL(fileURLToPath(new URL('../dist/options.js', import.meta.url))).href;

/** Runs `cmd args`, feeding `input` (else an empty stdin); resolves when it has exited. */
function runAsync(cmd: string, args: string[], input?: string): Promise<{ stdout: string; stderr: string; status: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: 10000 });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.once('error', reject);
    p.once('close', (status, signal) => resolve({ stdout, stderr, status, signal }));
    p.stdin.end(input);
  });
}

/** Runs baseParser('rk-x', args, opts).parseSync() in a node child; prints the result as JSON on stdout. */
function run(args: string[], opts: object = {}) {
  const code = `import { baseParser, commandOf } from ${JSON.stringify(dist)};
const a = baseParser('rk-x', ${JSON.stringify(args)}, ${JSON.stringify(opts)}).option('net', { type: 'string', choices: ['host', 'none'] }).parseSync();
process.stdout.write(JSON.stringify({ debug: a.debug, net: a.net, cmd: commandOf(a) }));`;
  return runAsync(process.execPath, ['--input-type=module', '-e', code]);
}

// every test runs its own node children: let them run side by side
t.jobs = 4;

t.test('valid flags, then the command with its own flags', async (t) => {
  const r = await run(['--debug', '--net=none', 'sh', '-c', 'echo --debug'], { haltAtCommand: true });
  t.equal(r.stderr, '');
  t.same(JSON.parse(r.stdout), { debug: true, net: 'none', cmd: ['sh', '-c', 'echo --debug'] });
  const dd = await run(['--', 'sh', '--net=x'], { haltAtCommand: true });
  t.same(JSON.parse(dd.stdout), { debug: false, cmd: ['sh', '--net=x'] }, 'after --: all CMD\'s');
});

t.test('an unknown flag: one line naming it and --help, exit 2', async (t) => {
  const r = await run(['--bogus-flag', 'sh'], { haltAtCommand: true });
  t.equal(r.stderr, 'rk-x: error: unknown flag: --bogus-flag (see rk-x --help)\n');
  t.equal(r.status, 2);
  t.equal(r.stdout, '');
  const two = await run(['--bogus', '-z']);
  t.equal(two.stderr, 'rk-x: error: unknown flags: --bogus -z (see rk-x --help)\n');
});

t.test('a bad choice: one line, and the command\'s own usage status when it has one', async (t) => {
  const r = await run(['--net=bogus', 'sh'], { haltAtCommand: true, usageExitCode: 1 });
  t.equal(r.status, 1);
  t.match(r.stderr, /^rk-x: error: Invalid values: .*bogus.* \(see rk-x --help\)\n$/);
  t.equal(r.stderr.split('\n').length, 2, 'exactly one line');
});

t.test('--version prints the version; --help the usage, both exit 0', async (t) => {
  const v = await run(['--version']);
  t.equal(v.stdout.trim(), VERSION);
  t.equal(v.status, 0);
  const h = await run(['--help']);
  t.equal(h.status, 0);
  t.match(h.stdout, /--debug\s+print debug messages on stderr/);
});

t.test('commandOf: positionals then what follows --, or the fallback', async (t) => {
  t.same(commandOf({ _: ['sh', 1], '--': ['-c', 'x'] }), ['sh', '1', '-c', 'x'], 'all strings');
  t.same(commandOf({ _: [] }), []);
  t.same(commandOf({ _: [] }, ['/bin/sh']), ['/bin/sh'], 'the fallback only when nothing was given');
  t.same(commandOf({ _: ['true'] }, ['/bin/sh']), ['true']);
});

t.test('baseParser in-process: flags parsed, --debug defaults to false', async (t) => {
  const a = baseParser('rk-x', ['--debug', 'x'], { haltAtCommand: true }).parseSync();
  t.equal(a.debug, true);
  t.same(commandOf(a), ['x']);
  t.equal(baseParser('rk-x', []).parseSync().debug, false);
});
