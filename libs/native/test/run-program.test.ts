// runProgram: a helper program's exit status and output (stdout and stderr
// together), a start-up error with the code a user can act on.
import t, { type Test } from 'tap';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProgram } from '../src/index.js';

function withEnv(t: Test, key: string, value: string): void {
  const old = process.env[key];
  process.env[key] = value;
  t.teardown(() => {
    if (old === undefined) delete process.env[key];
    else process.env[key] = old;
  });
}

t.test('exit code and output, stdout and stderr in the order written', async (t) => {
  const r = await runProgram('/bin/sh', ['sh', '-c', 'echo out; echo err >&2; echo "$0 $1"; exit 4', 'zero', 'one']);
  t.same(r, { output: 'out\nerr\nzero one\n', code: 4 });
  t.same(await runProgram('/bin/true', ['true']), { output: '', code: 0 });
});

t.test('killed by a signal: its number, no code', async (t) => {
  const r = await runProgram('/bin/sh', ['sh', '-c', 'echo before; kill -TERM $$']);
  t.same(r, { output: 'before\n', signal: 15 });
});

t.test('stdin is /dev/null: a program reading it ends at once', async (t) => {
  t.same(await runProgram('/bin/cat', ['cat']), { output: '', code: 0 });
  t.same(await runProgram('/bin/sh', ['sh', '-c', 'read x; echo "[$?]"']), { output: '[1]\n', code: 0 }, 'EOF');
});

t.test('a missing program: error ENOENT naming it, no status', async (t) => {
  const r = await runProgram('/nonexistent/newuidmap', ['newuidmap']);
  t.equal(r.output, '');
  t.equal(r.code, undefined);
  t.match(r.error, { code: 'ENOENT', errno: -2, syscall: 'posix_spawn', path: '/nonexistent/newuidmap', message: 'posix_spawn /nonexistent/newuidmap: ENOENT (No such file or directory)' });
  t.type(r.error, Error);
  const bare = await runProgram('rk-no-such-program', ['rk-no-such-program']);
  t.match(bare.error, { code: 'ENOENT', path: 'rk-no-such-program' }, 'a bare name not on PATH');
});

t.test('a PATH entry that cannot be searched does not turn "not found" into EACCES', { skip: process.getuid?.() === 0 && 'root searches every directory' }, async (t) => {
  const d = mkdtempSync(join(tmpdir(), 'rk-native-run-'));
  t.teardown(() => { chmodSync(d, 0o700); rmSync(d, { recursive: true, force: true }); });
  chmodSync(d, 0);
  withEnv(t, 'PATH', `${d}:${process.env.PATH}`);
  const r = await runProgram('rk-no-such-program', ['rk-no-such-program']);
  t.match(r.error, { code: 'ENOENT', path: 'rk-no-such-program' });
  t.same(await runProgram('echo', ['echo', 'hi']), { output: 'hi\n', code: 0 }, 'a program after it is still found');
});

t.test('a bare name is looked up on PATH; the environment is ours', async (t) => {
  const d = mkdtempSync(join(tmpdir(), 'rk-native-run-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  writeFileSync(join(d, 'rk-fake-tool'), '#!/bin/sh\necho "fake $1 $RK_UNIT_VAR"\n');
  chmodSync(join(d, 'rk-fake-tool'), 0o755);
  withEnv(t, 'PATH', `/nonexistent:${d}:${process.env.PATH}`);
  withEnv(t, 'RK_UNIT_VAR', 'from-env');
  t.same(await runProgram('rk-fake-tool', ['rk-fake-tool', 'arg']), { output: 'fake arg from-env\n', code: 0 });
  t.same(await runProgram('echo', ['echo', 'hi']), { output: 'hi\n', code: 0 });
});

t.test('a program that cannot run: EACCES, ENOEXEC', async (t) => {
  const d = mkdtempSync(join(tmpdir(), 'rk-native-run-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  writeFileSync(join(d, 'tool'), '#!/bin/sh\n');
  chmodSync(join(d, 'tool'), 0o644);
  t.match((await runProgram(join(d, 'tool'), ['tool'])).error, { code: 'EACCES' });
  writeFileSync(join(d, 'junk'), Buffer.from([0, 1, 2, 3, 0xff]));
  chmodSync(join(d, 'junk'), 0o755);
  t.match((await runProgram(join(d, 'junk'), ['junk'])).error, { code: 'ENOEXEC', errno: -8, message: `posix_spawn ${join(d, 'junk')}: ENOEXEC (Exec format error)` }, 'not a program: ENOEXEC');
});

t.test('a lot of output: the program is not blocked, the first 64 KiB are kept', async (t) => {
  const r = await runProgram('/bin/sh', ['sh', '-c', 'head -c 1000000 /dev/zero | tr "\\0" x; echo done >&2']);
  t.equal(r.code, 0, 'ran to the end');
  t.ok(r.output.length >= 65536 && r.output.length < 65536 + 4096, `about 64 KiB kept (${r.output.length})`);
  t.match(r.output, /^x+$/);
});

t.test('several at once', async (t) => {
  const rs = await Promise.all([1, 2, 3, 4, 5].map((i) => runProgram('/bin/sh', ['sh', '-c', `echo ${i}; exit ${i}`])));
  t.same(rs, [1, 2, 3, 4, 5].map((i) => ({ output: `${i}\n`, code: i })));
});
