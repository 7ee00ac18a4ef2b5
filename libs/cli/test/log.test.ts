// What a user sees on stderr: Logger lines and runMain's error exit, from a
// small node child that loads the built dist (the Logger writes to fd 2
// directly, so it is observed from outside).
import t from 'tap';
import { execFile } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dist = pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href;

/** Runs ESM `body` in a node child with Logger, RkError and runMain imported. */
function run(body: string, opts: { shell?: string } = {}): Promise<{ stdout: string; stderr: string; status: number | null }> {
  const code = `import { Logger, RkError, runMain } from ${JSON.stringify(dist)};\n${body}`;
  const [cmd, args] = opts.shell
    ? ['sh', ['-c', `"$0" --input-type=module -e "$1" ${opts.shell}`, process.execPath, code]]
    : [process.execPath, ['--input-type=module', '-e', code]];
  return new Promise((resolve) => {
    execFile(cmd, args as string[], { timeout: 10000 }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, status: err ? (typeof err.code === 'number' ? err.code : null) : 0 });
    });
  });
}

// every test runs its own node children: let them run side by side
t.jobs = 4;

t.test('a command\'s prefix is followed by ": level: message"', async (t) => {
  const r = await run(`const log = new Logger('rk-x');
log.error('msg');
log.warn('careful');
log.info('hello');
log.debug('hidden');`);
  t.equal(r.stderr, 'rk-x: error: msg\nrk-x: warning: careful\nrk-x: hello\n');
  t.equal(r.stdout, '', 'nothing on stdout');
  t.equal(r.status, 0);
});

t.test('a bracketed prefix is followed by a space, as upstream prints it', async (t) => {
  const r = await run(`const log = new Logger('[rootlesskit:parent]');
log.error('msg');
log.warn('careful');
log.info('hello');`);
  t.equal(r.stderr, '[rootlesskit:parent] error: msg\n[rootlesskit:parent] warning: careful\n[rootlesskit:parent] hello\n');
});

t.test('debug lines only when enabled; withPrefix keeps the setting', async (t) => {
  const off = await run(`new Logger('rk-x').debug('one'); new Logger('rk-x', false).withPrefix('rk-y').debug('two');`);
  t.equal(off.stderr, '', 'disabled: no debug output at all');
  const on = await run(`const log = new Logger('rk-x', true);
log.debug('one');
log.withPrefix('[rootlesskit:child]').debug('two');
log.debugEnabled = false;
log.debug('three');`);
  t.match(on.stderr, /^rk-x: debug: one \(at \d+\.\d ms\)\n\[rootlesskit:child\] debug: two \(at \d+\.\d ms\)\n$/, 'each with the time since start');
  const [a, b] = [...on.stderr.matchAll(/at (\d+\.\d) ms/g)].map((m) => Number(m[1]));
  t.ok(a! > 0 && b! >= a!, `times grow (${a}, ${b})`);
});

t.test('a closed stderr is not an error', async (t) => {
  const r = await run(`new Logger('rk-x').error('nobody listens'); process.stdout.write('done');`, { shell: '2>&-' });
  t.equal(r.stdout, 'done');
  t.equal(r.status, 0);
});

t.test('runMain: an RkError is one line on stderr and its exit status', async (t) => {
  const r = await run(`runMain(new Logger('rk-x'), async () => { throw new RkError('no such thing: install it', 3); });`);
  t.equal(r.stderr, 'rk-x: error: no such thing: install it\n');
  t.equal(r.status, 3);
});

t.test('runMain: a returned number is the exit status; nothing returned exits 0', async (t) => {
  t.equal((await run(`runMain(new Logger('rk-x'), async () => 42);`)).status, 42);
  const ok = await run(`runMain(new Logger('rk-x'), async () => {});`);
  t.equal(ok.status, 0);
  t.equal(ok.stderr, '');
});

t.test('runMain: another error exits 1 with its first line; the stack only with debug', async (t) => {
  const quiet = await run(`runMain(new Logger('rk-x'), async () => { throw new TypeError('boom\\nmore detail'); });`);
  t.equal(quiet.stderr, 'rk-x: error: boom\n');
  t.equal(quiet.status, 1);
  const loud = await run(`runMain(new Logger('rk-x', true), async () => { throw new TypeError('boom'); });`);
  t.match(loud.stderr, /^rk-x: error: boom\nrk-x: debug: TypeError: boom\n\s+at /);
  t.equal(loud.status, 1);
  const rk = await run(`runMain(new Logger('rk-x', true), async () => { throw new RkError('plain'); });`);
  t.equal(rk.stderr, 'rk-x: error: plain\n', 'no stack for an RkError, even with debug');
});
