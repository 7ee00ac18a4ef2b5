// Errors as upstream rootlesskit (Go's flag package) and util-linux give them
// (issue 6, "should fix"): one line, the exit status scripts expect.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { run, start, tempDir, waitFor } from './harness.js';

t.test('a value flag with no value, or with a flag where its value should be, is refused', async (t) => {
  const cases: Array<[string[], string, number]> = [
    [['rootlesskit', '--state-dir'], 'rootlesskit: error: flag needs an argument: --state-dir (see rootlesskit --help)\n', 1],
    [['rootlesskit', '--state-dir', '--pidns', 'sh', '-c', 'echo ran'], 'rootlesskit: error: flag needs an argument: --state-dir (--pidns is a flag; for a value that starts with "-", write --state-dir=--pidns) (see rootlesskit --help)\n', 1],
    [['rk-unshare', '--subid-source'], 'rk-unshare: error: flag needs an argument: --subid-source (see rk-unshare --help)\n', 2],
    [['rk-unshare', '--map-root', '--state-dir'], 'rk-unshare: error: flag needs an argument: --state-dir (see rk-unshare --help)\n', 2],
    [['rk-idmap', '--state-dir'], 'rk-idmap: error: flag needs an argument: --state-dir (see rk-idmap --help)\n', 2],
    [['rk-copyup', '--propagation'], 'rk-copyup: error: flag needs an argument: --propagation (see rk-copyup --help)\n', 2],
  ];
  for (const [argv, err, code] of cases) {
    const r = run(argv, { input: 'echo ran-from-stdin\n' });
    t.equal(r.code, code, argv.join(' '));
    t.equal(r.stderr, err, argv.join(' '));
    t.equal(r.stdout, '', `${argv.join(' ')}: nothing ran`);
  }
});

t.test('booleans and numbers as Go parses them: --pidns=yes and --mtu=abc refused, --pidns=T and --mtu=0x5dc taken', async (t) => {
  const yes = run(['rootlesskit', '--pidns=yes', 'true']);
  t.equal(yes.code, 1);
  t.equal(yes.stderr, 'rootlesskit: error: invalid boolean value "yes" for --pidns: parse error (see rootlesskit --help)\n');
  const abc = run(['rootlesskit', '--mtu=abc', 'true']);
  t.equal(abc.code, 1);
  t.equal(abc.stderr, 'rootlesskit: error: invalid value "abc" for flag --mtu: parse error (see rootlesskit --help)\n');
  const exp = run(['rootlesskit', '--mtu', '1e3', 'true']);
  t.equal(exp.code, 1);
  t.match(exp.stderr, /invalid value "1e3" for flag --mtu/);
  const T = run(['rootlesskit', '--pidns=T', '--reaper=false', 'sh', '-c', 'echo $$']);
  t.equal(T.code, 0, T.stderr);
  t.equal(T.stdout, '2\n', 'T is true (strconv.ParseBool): a PID namespace, CMD under its PID 1');
  const hex = run(['rootlesskit', '--net=none', '--mtu=0x5dc', 'true']);
  t.notMatch(hex.stderr, /parse error/, '0x5dc is 1500 (strconv.ParseInt base 0)');
});

t.test('CMD\'s arguments are never read as numbers', async (t) => {
  const r = run(['rootlesskit', 'printf', '%s %s %s\\n', '0x10', '1e3', '010']);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, '0x10 1e3 010\n');
});

t.test('rk-idmap: PIDs in decimal only', async (t) => {
  for (const pid of ['0x10', '1e3', '010', '+5']) {
    const r = run(['rk-idmap', pid]);
    t.equal(r.code, 2, pid);
    t.equal(r.stderr, `rk-idmap: error: PID must be a positive integer, got "${pid}" (see rk-idmap --help)\n`, pid);
  }
});

t.test('a relative or unusable XDG_RUNTIME_DIR is ignored (the state dir is absolute, under TMPDIR)', async (t) => {
  const cwd = tempDir();
  for (const xdg of ['.', 'rel/dir', '/nonexistent-rk-xdg', '/tmp']) {
    const r = run(['rootlesskit', 'sh', '-c', 'echo "$ROOTLESSKIT_STATE_DIR"'], { env: { XDG_RUNTIME_DIR: xdg }, cwd });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /^\/tmp\/rootlesskit[A-Za-z0-9]{6}\n$/, `XDG_RUNTIME_DIR=${xdg}`);
  }
  t.same(readdirSync(cwd), [], 'nothing made in the working directory');
});

t.test('a held child killed before release: said so, exit 255', async (t) => {
  const dir = tempDir();
  const s = `${dir}/s`;
  const p = start(['rk-unshare', '--user', '--gate', '--state-dir', s, '--', 'echo', 'ran']);
  let out = '';
  let err = '';
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (err += d));
  await waitFor(() => existsSync(`${s}/gate`) && existsSync(`${s}/child_pid`));
  // 'close', not 'exit': stderr may still be in flight when the process has exited.
  const exited = new Promise((r) => p.on('close', r));
  spawn('kill', ['-KILL', run(['cat', `${s}/child_pid`]).stdout]);
  t.equal(await exited, 255);
  t.equal(err, `rk-unshare: error: echo was killed by SIGKILL before release (it was held at ${s}/gate)\n`);
  t.equal(out, '');
  t.notOk(existsSync(s), 'state dir removed');
});

t.test('a script whose #! interpreter is missing: "bad interpreter", 126', async (t) => {
  const dir = tempDir();
  run(['sh', '-c', `printf '#!/nonexistent/interp\\necho hi\\n' > ${dir}/s.sh && chmod +x ${dir}/s.sh`]);
  const launchers: Array<[string, string[]]> = [
    ['rootlesskit', ['rootlesskit']],
    ['rk-unshare', ['rk-unshare', '--map-root', '--']],
    ['rk-copyup', ['rk-unshare', '--map-root', '--mount', '--', 'rk-copyup', '--']],
  ];
  for (const [name, l] of launchers) {
    const r = run([...l, './s.sh'], { cwd: dir });
    t.equal(r.code, 126, name);
    t.match(r.stderr, /: \.\/s\.sh: \/nonexistent\/interp: bad interpreter: No such file or directory\n$/, name);
  }
});

t.test('--state-dir that is not a directory', async (t) => {
  const r = run(['rk-unshare', '--map-root', '--state-dir', '/dev/null', '--', 'true']);
  t.equal(r.code, 1);
  t.equal(r.stderr, 'rk-unshare: error: state dir /dev/null is not a directory: choose a directory for --state-dir (e.g. under $XDG_RUNTIME_DIR)\n');
});

t.test('rootlessctl on a socket that does not speak HTTP says so', async (t) => {
  const dir = tempDir();
  const server = start(['python3', '-c', `import socket, os, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1] + '/junk.sock'); s.listen(4)
t = socket.socket(socket.AF_UNIX); t.bind(sys.argv[1] + '/mute.sock'); t.listen(4)
print('ready', flush=True)
for srv, reply in ((s, b'SSH-2.0-OpenSSH_9\\r\\n'), (t, b'')):
    c, _ = srv.accept(); c.recv(4096)
    if reply: c.sendall(reply)
    c.close()`, dir]);
  t.teardown(() => server.kill('SIGKILL'));
  await new Promise((r) => server.stdout!.once('data', r));
  const junk = run(['rootlessctl', '--socket', `${dir}/junk.sock`, 'info']);
  t.equal(junk.code, 1);
  t.match(junk.stderr, new RegExp(`^rootlessctl: error: ${dir}/junk.sock does not speak HTTP \\(it answered with something that is not HTTP; HPE_INVALID_CONSTANT\\): it is not a RootlessKit API socket`));
  const mute = run(['rootlessctl', '--socket', `${dir}/mute.sock`, 'info']);
  t.equal(mute.code, 1);
  t.match(mute.stderr, /does not speak HTTP \(it closed the connection without an HTTP answer; ECONNRESET\)/);
});
