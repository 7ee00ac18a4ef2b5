// flock: true when taken, false while another holder has it (what makes a
// second rootlesskit on the same --state-dir say "in use").
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { flock } from '../src/index.js';

const dist = pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href;

function lockFile(t: Test): string {
  const d = mkdtempSync(join(tmpdir(), 'rk-native-flock-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return join(d, 'lock');
}

function open(t: Test, file: string): number {
  const fd = openSync(file, 'a+');
  t.teardown(() => {
    try {
      closeSync(fd);
    } catch {
      // closed by the test
    }
  });
  return fd;
}

/** Another process holding `file` locked (exclusive or shared) until the returned function is called. */
async function holder(t: Test, file: string, exclusive: boolean): Promise<() => Promise<void>> {
  const p = spawn(
    process.execPath,
    ['--input-type=module', '-e', `import { openSync } from 'node:fs';
import { flock } from ${JSON.stringify(dist)};
if (!flock(openSync(${JSON.stringify(file)}, 'a+'), ${exclusive}, true)) process.exit(3);
process.stdout.write('held\\n');
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));`],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  t.teardown(() => {
    p.kill('SIGKILL');
  });
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    p.stdout.on('data', (b: Buffer) => b.toString().includes('held') && resolve());
    p.once('exit', (code) => reject(new Error(`holder exited with ${code}`)));
  });
  return async () => {
    p.stdin.end();
    await exited;
  };
}

t.test('free: taken at once; taken again on the same fd', async (t) => {
  const fd = open(t, lockFile(t));
  t.equal(flock(fd, true, true), true);
  t.equal(flock(fd, true, true), true, 'the same open file already holds it');
  t.equal(flock(fd, false, true), true, 'and may turn it into a shared lock');
});

t.test('held exclusively by another process: false, until it exits', async (t) => {
  const file = lockFile(t);
  const release = await holder(t, file, true);
  const fd = open(t, file);
  t.equal(flock(fd, true, true), false, 'exclusive: refused');
  t.equal(flock(fd, false, true), false, 'shared: refused too');
  await release();
  t.equal(flock(fd, true, true), true, 'the holder\'s exit dropped its lock');
});

t.test('held shared by another process: shared is fine, exclusive is not', async (t) => {
  const file = lockFile(t);
  const release = await holder(t, file, false);
  const a = open(t, file);
  t.equal(flock(a, true, true), false);
  t.equal(flock(a, false, true), true);
  await release();
});

t.test('a second open of the file, even in this process, is another holder', async (t) => {
  const file = lockFile(t);
  const a = open(t, file);
  const b = open(t, file);
  t.equal(flock(a, true, true), true);
  t.equal(flock(b, true, true), false, 'locks belong to the open file, not the process');
  closeSync(a);
  t.equal(flock(b, true, true), true, 'closing the holder\'s fd drops the lock');
});

t.test('a bad fd: an error like Node\'s', async (t) => {
  const fd = openSync(lockFile(t), 'a+');
  closeSync(fd);
  t.throws(() => flock(fd, true, true), { code: 'EBADF', errno: -9, syscall: 'flock', message: 'flock: EBADF (Bad file descriptor)' });
});
