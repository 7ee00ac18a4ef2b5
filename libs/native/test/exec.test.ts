// exec: replacing the Node process with a command, the way rk-unshare's
// child-side helpers and `rootlesskit --detach-netns` hand over. Tested from
// a node child, since it does not return: what a user sees is the command's
// output on the same stdio, its exit status and a clean signal state.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dist = pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href;

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

/** Runs ESM `body` with `exec` imported, in a node child (or in `shell`, given node as $0 and the code as $1). */
function run(body: string, opts: { input?: string; shell?: string } = {}) {
  const code = `import { exec } from ${JSON.stringify(dist)};\n${body}`;
  return opts.shell
    ? runAsync('sh', ['-c', opts.shell, process.execPath, code], opts.input)
    : runAsync(process.execPath, ['--input-type=module', '-e', code], opts.input);
}

// every test runs its own node children: let them run side by side
t.jobs = 4;

t.test('stdout survives exec: echo prints on the same pipe', async (t) => {
  const r = await run(`exec('/bin/echo', ['echo', 'hi'], []);`);
  t.equal(r.stdout, 'hi\n');
  t.equal(r.stderr, '');
  t.equal(r.status, 0);
});

t.test('after Node wrote to stdout and stderr itself, both still work', async (t) => {
  const r = await run(`process.stdout.write('from node\\n'); process.stderr.write('node err\\n');
exec('/bin/sh', ['sh', '-c', 'echo from sh; echo sh err >&2; exit 5'], []);`);
  t.equal(r.stdout, 'from node\nfrom sh\n');
  t.equal(r.stderr, 'node err\nsh err\n');
  t.equal(r.status, 5, 'the exit status is the command\'s');
});

t.test('stdin that Node made non-blocking is blocking again for the command', async (t) => {
  // the data arrives after exec: with O_NONBLOCK left on, cat would fail with EAGAIN
  const r = await run(`process.stdin; exec('/bin/cat', ['cat'], []);`, { shell: '(sleep 0.2; echo late) | "$0" --input-type=module -e "$1"' });
  t.equal(r.stdout, 'late\n');
  t.equal(r.stderr, '');
  t.equal(r.status, 0);
  const piped = await run(`process.stdin; exec('/bin/cat', ['cat'], []);`, { input: 'piped data' });
  t.equal(piped.stdout, 'piped data');
});

t.test('argv and env are exactly what is given', async (t) => {
  const r = await run(`exec('/bin/sh', ['sh', '-c', 'printf "%s|%s|%s" "$0" "$A" "\${HOME-unset}"', 'zero'], ['A=b c']);`);
  t.equal(r.stdout, 'zero|b c|unset');
});

t.test('signals start at their defaults, none blocked (Node ignores SIGPIPE)', async (t) => {
  const r = await run(`exec('/bin/grep', ['grep', '-E', '^Sig(Ign|Blk):', '/proc/self/status'], []);`);
  t.equal(r.stdout, 'SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n');
  const node = await runAsync(process.execPath, ['-e', `process.stdout.write(require('fs').readFileSync('/proc/self/status', 'utf8'))`]);
  t.match(node.stdout, /SigIgn:\t0*[1-9a-f]/, 'whereas Node itself ignores some');
  const pipe = await run(`exec('/bin/sh', ['sh', '-c', 'yes | head -c 3 >/dev/null; echo ok'], []);`);
  t.equal(pipe.stdout, 'ok\n', 'a pipeline ends by SIGPIPE as in a shell');
});

t.test('keepFds: an fd Node opened (close-on-exec) is passed on only when kept', async (t) => {
  const d = mkdtempSync(join(tmpdir(), 'rk-native-exec-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  writeFileSync(join(d, 'data'), 'kept content');
  const body = (keep: boolean) => `import { openSync } from 'node:fs';
const fd = openSync(${JSON.stringify(join(d, 'data'))}, 'r');
exec('/bin/cat', ['cat', '/proc/self/fd/' + fd], []${keep ? ', [fd]' : ''});`;
  const kept = await run(body(true));
  t.equal(kept.stdout, 'kept content');
  t.equal(kept.status, 0);
  const dropped = await run(body(false));
  t.equal(dropped.stdout, '');
  t.not(dropped.status, 0, 'not passed on without keepFds');
});

t.test('exec fails: an error like Node\'s, and the process carries on', async (t) => {
  const d = mkdtempSync(join(tmpdir(), 'rk-native-exec-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  writeFileSync(join(d, 'noexec'), '#!/bin/sh\n');
  chmodSync(join(d, 'noexec'), 0o644);
  const r = await run(`const show = (f) => { try { exec(f, ['x'], []); } catch (e) { return [e.code, e.errno, e.syscall, e.path, e.message].join('|'); } };
process.on('SIGUSR2', () => { process.stdout.write('handler\\n'); process.exit(0); });
process.stdout.write(show('/nonexistent/cmd') + '\\n' + show(${JSON.stringify(join(d, 'noexec'))}) + '\\n');
process.kill(process.pid, 'SIGUSR2');
setTimeout(() => {}, 5000);`);
  t.equal(
    r.stdout,
    `ENOENT|-2|execve|/nonexistent/cmd|execve /nonexistent/cmd: ENOENT (No such file or directory)\n` +
      `EACCES|-13|execve|${join(d, 'noexec')}|execve ${join(d, 'noexec')}: EACCES (Permission denied)\n` +
      'handler\n',
    'Node\'s signal handling is back after the failure',
  );
  t.equal(r.status, 0);
});
