// The composed rootlesskit as the unprivileged user: upstream-compatible
// behaviour, state dir, API, namespaces, copy-up, signals and refusals.
import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { expectedMap, normMap, run, start, tempDir, testGid, testUid, waitFor } from './harness.js';

const tmpLeftovers = () => readdirSync('/tmp').filter((n) => n.startsWith('rootlesskit-b')).sort();

t.test('maps, env and exit statuses as upstream', async (t) => {
  const r = run(['rootlesskit', 'sh', '-c', 'cat /proc/self/uid_map; echo ---; cat /proc/self/gid_map; echo ---; cat /proc/self/setgroups; env | grep ^ROOTLESSKIT_ | sort']);
  t.equal(r.code, 0, r.stderr);
  const [uid, gid, rest] = r.stdout.split('---\n');
  t.equal(normMap(uid!), expectedMap('uid'));
  t.equal(normMap(gid!), expectedMap('gid'));
  t.match(rest, new RegExp(`^allow\\nROOTLESSKIT_PARENT_EGID=${testGid}\\nROOTLESSKIT_PARENT_EUID=${testUid}\\nROOTLESSKIT_STATE_DIR=/`));
  const stateDir = /ROOTLESSKIT_STATE_DIR=(.*)/.exec(rest!)![1]!;
  t.notOk(existsSync(stateDir), 'default state dir removed at exit');
  t.equal(run(['rootlesskit', 'sh', '-c', 'exit 42']).code, 42);
  const sig = run(['rootlesskit', 'sh', '-c', 'kill -USR1 $$']);
  t.equal(sig.code, 255);
  t.equal(sig.stderr, '[rootlesskit:child ] error: command [sh -c kill -USR1 $$] exited: signal: user defined signal 1\n[rootlesskit:parent] error: child exited: exit status 255\n', "upstream's words");
  const failed = run(['rootlesskit', 'sh', '-c', 'exit 42']);
  t.equal(failed.stderr, '[rootlesskit:child ] error: command [sh -c exit 42] exited: exit status 42\n[rootlesskit:parent] error: child exited: exit status 42\n', 'a non-zero exit is reported as upstream does');
  const nf = run(['rootlesskit', 'no-such-command-rk']);
  t.equal(nf.code, 127);
  t.match(nf.stderr, /no-such-command-rk: command not found/);
});

t.test('SIGUSR1 to child_pid gives 255; state dir files as upstream', async (t) => {
  const dir = tempDir();
  const s = `${dir}/s`;
  const p = start(['rootlesskit', '--state-dir', s, 'sleep', '100']);
  await waitFor(() => existsSync(`${s}/api.sock`));
  t.same(readdirSync(s).sort(), ['api.sock', 'child_pid', 'lock']);
  const pid = readFileSync(`${s}/child_pid`, 'utf8');
  t.match(pid, /^\d+$/, 'decimal, no newline');
  const code = await new Promise((resolve) => {
    p.on('exit', resolve);
    process.kill(Number(pid), 'SIGUSR1');
  });
  t.equal(code, 255);
  t.notOk(existsSync(s), 'state dir removed');
});

t.test('a signal to child_pid ends CMD with --pidns too, whatever --reaper says (as upstream)', async (t) => {
  for (const flags of [['--pidns'], ['--pidns', '--reaper=true'], ['--pidns', '--reaper=false']]) {
    const s = `${tempDir()}/s`;
    const p = start(['rootlesskit', '--state-dir', s, ...flags, 'sleep', '100']);
    let stderr = '';
    p.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    await waitFor(() => existsSync(`${s}/child_pid`));
    const code = await new Promise((resolve) => {
      p.on('close', resolve); // stderr read to its end
      process.kill(Number(readFileSync(`${s}/child_pid`, 'utf8')), 'SIGUSR1');
    });
    t.equal(code, 255, flags.join(' '));
    t.match(stderr, 'command [sleep 100] exited: signal: user defined signal 1', flags.join(' '));
  }
});

t.test('SIGKILL of rootlesskit kills CMD; a restart on the same state dir works; a second instance is refused', async (t) => {
  const dir = tempDir();
  const s = `${dir}/s`;
  const p = start(['rootlesskit', '--state-dir', s, 'sleep', '100']);
  await waitFor(() => existsSync(`${s}/api.sock`));
  const pid = Number(readFileSync(`${s}/child_pid`, 'utf8'));
  const second = run(['rootlesskit', '--state-dir', s, 'true']);
  t.equal(second.code, 1);
  t.match(second.stderr, /in use by another rootlesskit/);
  process.kill(p.pid!, 'SIGKILL');
  await waitFor(() => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] === 'Z');
  t.ok(existsSync(`${s}/child_pid`), 'stale files remain after SIGKILL');
  const again = run(['rootlesskit', '--state-dir', s, 'sh', '-c', 'ls $ROOTLESSKIT_STATE_DIR']);
  t.equal(again.code, 0, again.stderr);
  t.same(again.stdout.trim().split('\n').sort(), ['api.sock', 'child_pid', 'lock'], 'stale files wiped, fresh ones written');
  t.notOk(existsSync(s));
});

t.test('--copy-up=/etc and /run: writable, originals under .ro*, nothing leaks', async (t) => {
  const before = tmpLeftovers();
  const r = run(['rootlesskit', '--copy-up=/etc', '--copy-up=/run', 'sh', '-c',
    'touch /etc/rk-it && echo etc-ok; touch /run/rk-it && echo run-ok; readlink /etc/passwd; ls -a /etc | grep "^\\.ro"; cat /etc/hostname >/dev/null && echo read-ok']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /etc-ok\nrun-ok\n\.ro[A-Za-z0-9]+\/passwd\n\.ro[A-Za-z0-9]+\nread-ok/);
  t.notOk(existsSync('/etc/rk-it'));
  t.notOk(existsSync('/run/rk-it'));
  t.same(tmpLeftovers(), before, 'no temp dirs left in /tmp');
  const tmp = run(['rootlesskit', '--copy-up=/tmp', 'sh', '-c', 'touch /tmp/rk-it-tmp && echo tmp-ok']);
  t.equal(tmp.code, 0, tmp.stderr);
  t.equal(tmp.stdout, 'tmp-ok\n', '/tmp can be copied up: nothing is staged there');
  t.notOk(existsSync('/tmp/rk-it-tmp'));
  const none = run(['rootlesskit', '--copy-up=/nonexistent-rk', 'true']);
  t.equal(none.code, 1);
  t.match(none.stderr, /nonexistent-rk/);
});

t.test('--copy-up=/ is refused, and no failure path removes anything through a mount', async (t) => {
  // Upstream's --copy-up=/ binds / to a staging dir and, when copy-up then
  // fails, removes that dir recursively: through the live bind mount, every
  // file the user owns. Ours refuses /, and never removes a tree by path.
  const dir = tempDir();
  run(['sh', '-c', `echo keep > ${dir}/canary`]);
  const r = run(['rootlesskit', '--copy-up=/', 'true']);
  t.equal(r.code, 1);
  t.match(r.stderr, /--copy-up \/: the root directory cannot be copied up/);
  t.equal(readFileSync(`${dir}/canary`, 'utf8'), 'keep\n', 'the user\'s files are untouched');
  run(['rm', '-rf', dir]);
});

t.test('--pidns (PID 1 reaper, fresh /proc), --utsns, --ipcns, --cgroupns', async (t) => {
  const r = run(['rootlesskit', '--pidns', '--utsns', '--ipcns', '--cgroupns', 'sh', '-c',
    'echo $$; ls /proc | grep -cE "^[0-9]+$"; hostname rk-uts && hostname; readlink /proc/self/ns/ipc /proc/self/ns/cgroup; cat /proc/self/cgroup | grep "^0::"']);
  t.equal(r.code, 0, r.stderr);
  const [pid, count, host, ipc, cg, cgpath] = r.stdout.trim().split('\n');
  t.equal(pid, '2', 'CMD is PID 2 under the PID-1 reaper (--reaper=auto)');
  t.ok(Number(count) <= 4, 'a fresh /proc');
  t.equal(host, 'rk-uts');
  t.not(ipc, execFileSync('readlink', ['/proc/self/ns/ipc']).toString().trim());
  t.not(cg, execFileSync('readlink', ['/proc/self/ns/cgroup']).toString().trim());
  t.equal(cgpath, '0::/');
  // --reaper=false: as upstream, CMD is still not PID 1 (a PID 1 without a
  // handler never gets a signal); PID 1 waits for CMD only, orphans stay zombies.
  const noReaper = run(['rootlesskit', '--pidns', '--reaper=false', 'sh', '-c', 'echo $$; (sleep 0.1 &) ; sleep 0.3; ps -o stat= -e | grep -c Z || true']);
  t.equal(noReaper.code, 0, noReaper.stderr);
  t.equal(noReaper.stdout, '2\n1\n', 'CMD is PID 2; the orphan is not reaped');
  const orphan = run(['rootlesskit', '--pidns', 'sh', '-c', '(sleep 0.1 &) ; sleep 0.3; ps -o stat= -e | grep -c Z || true']);
  t.equal(orphan.code, 0, orphan.stderr);
  t.equal(orphan.stdout.trim(), '0', 'orphans reaped, no zombies');
});

t.test('--net=none: only loopback, up', async (t) => {
  const r = run(['rootlesskit', '--net=none', 'sh', '-c', 'ls /sys/class/net; cat /sys/class/net/lo/operstate; ip -o link show lo | grep -c UP']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^lo\n/);
  t.match(r.stdout, /\n1\n$/);
});

t.test('systemd socket activation: LISTEN_FDS passes through with fds at 3', async (t) => {
  const r = run(['sh', '-c', 'LISTEN_FDS=1 LISTEN_PID=$$ exec rootlesskit sh -c \'echo "$LISTEN_FDS $LISTEN_PID $$"; readlink /proc/self/fd/3\' 3</etc/hostname']);
  t.equal(r.code, 0, r.stderr);
  const [vars, fd3] = r.stdout.trim().split('\n');
  const [n, lpid, self] = vars!.split(' ');
  t.equal(n, '1');
  t.equal(lpid, self, 'LISTEN_PID is CMD\'s own PID');
  t.equal(fd3, '/etc/hostname');
});

t.test('refusals as upstream, one line each', async (t) => {
  const cases: Array<[string[], RegExp, number]> = [
    [['--net=host', '--cidr=10.0.3.0/24'], /cidr/, 1],
    [['--net=host', '--ifname=eth0'], /ifname cannot be specified/, 1],
    [['-p', '127.0.0.1:8080:80/tcp'], /port driver "none" does not support publishing ports/, 1],
    [['--port-driver=builtin'], /requires non-host network/, 1],
    [['--propagation=rshared', '--copy-up=/etc'], /does not support copy-up/, 1],
    [['--reaper=true'], /reaper requires --pidns/, 1],
    [['--evacuate-cgroup2=rk'], /requires --cgroupns/, 1],
    [['--bogus-flag'], /bogus-flag/, 1],
    [['--net=bogus'], /bogus/, 1],
    [['--subid-source=x'], /subid-source/, 1],
  ];
  for (const [flags, re, code] of cases) {
    const r = run(['rootlesskit', ...flags, 'true']);
    t.equal(r.code, code, `${flags.join(' ')} exits ${code}`);
    t.match(r.stderr, re, flags.join(' '));
    t.equal(r.stderr.trim().split('\n').length, 1, `${flags.join(' ')}: one line`);
  }
  const evac = run(['rootlesskit', '--pidns', '--cgroupns', '--evacuate-cgroup2=rk', 'true']);
  t.equal(evac.code, 1);
  t.match(evac.stderr, /cgroup/, 'no delegated cgroup v2 here: a clear error');
  const stateDirs = () => readdirSync('/tmp').filter((n) => n.startsWith('rootlesskit')).length;
  const before = stateDirs();
  for (const bad of [['--copy-up=/nonexistent-rk'], ['--net=none', '--cidr=10.0.3.0/24']]) {
    const r = run(['rootlesskit', ...bad, 'true']);
    t.equal(r.code, 1, bad.join(' '));
  }
  t.equal(stateDirs(), before, 'no state dir or staging dir left behind by failed starts');
  const ro = run(['rootlesskit', '--state-dir=/proc/rk-not-writable', 'true']);
  t.equal(ro.code, 1);
  t.match(ro.stderr, /cannot be created/);
  const devnull = run(['rootlesskit', '--state-dir=/dev/null', 'true']);
  t.equal(devnull.code, 1);
  t.equal(devnull.stderr, '[rootlesskit:parent] error: state dir /dev/null is not a directory: choose a directory for --state-dir (e.g. under $XDG_RUNTIME_DIR)\n');
});

t.test('--version, --print-semver, --debug log prefixes', async (t) => {
  t.match(run(['rootlesskit', '--version']).stdout, /^rootlesskit version \d+\.\d+\.\d+/);
  t.match(run(['rootlesskit', '--print-semver']).stdout, /^\d+\.\d+\.\d+\n$/);
  const d = run(['rootlesskit', '--debug', 'true']);
  t.equal(d.code, 0);
  t.match(d.stderr, /^\[rootlesskit:parent\] debug: /m);
  t.match(d.stderr, /^\[rootlesskit:child \] debug: /m);
});

t.test('both rootlessctl clients work against our API', async (t) => {
  const dir = tempDir();
  const s = `${dir}/s`;
  const p = start(['rootlesskit', '--state-dir', s, 'sleep', '100']);
  await waitFor(() => existsSync(`${s}/api.sock`));
  const pid = readFileSync(`${s}/child_pid`, 'utf8');
  for (const ctl of ['rootlessctl', '/usr/bin/rootlessctl']) {
    const info = run([ctl, '--socket', `${s}/api.sock`, 'info', '--json']);
    t.equal(info.code, 0, `${ctl}: ${info.stderr}`);
    const j = JSON.parse(info.stdout);
    t.equal(j.apiVersion, '1.1.1');
    t.equal(String(j.childPID), pid);
    t.equal(j.stateDir, s);
    const ports = run([ctl, '--socket', `${s}/api.sock`, 'list-ports']);
    t.not(ports.code, 0, `${ctl} list-ports without a port driver fails`);
    t.match(ports.stderr, /no PortDriver is available/);
  }
  process.kill(p.pid!, 'SIGTERM');
  await new Promise((r) => p.on('exit', r));
});

t.test('an interactive bash has a terminal and job control', async (t) => {
  // script(1) gives rootlesskit a pty; bash -i runs a job in the background and brings it back.
  const r = run(['script', '-qec', 'rootlesskit bash --norc -i', '/dev/null'], {
    input: 'sleep 0.3 &\njobs\nfg\necho job-control-ok $(tty)\nexit 5\n',
    timeout: 20_000,
  });
  t.equal(r.code, 5, r.stderr + r.stdout);
  t.match(r.stdout, /\[1\]\+?\s+Running\s+sleep 0\.3 &/);
  t.match(r.stdout, /job-control-ok \/dev\/pts\/\d+/);
  t.notMatch(r.stdout, /no job control/);
});

t.test('api.sock answers a client that CMD starts at once (the server loads on the first connection)', async (t) => {
  const r = run(['rootlesskit', 'sh', '-c', 'rootlessctl info --json && /usr/bin/rootlessctl --socket "$ROOTLESSKIT_STATE_DIR/api.sock" info --json']);
  t.equal(r.code, 0, r.stderr);
  const [ours, theirs] = r.stdout.trim().split(/\n(?=\{)/).map((s) => JSON.parse(s));
  t.equal(ours.apiVersion, '1.1.1');
  t.equal(theirs.apiVersion, '1.1.1');
  t.equal(ours.childPID, theirs.childPID);
});

t.test('child_pid is written only once the mount plan ran (copy-up visible to whoever enters by child_pid)', async (t) => {
  // A shell polls for child_pid and reads the child's mountinfo the moment it appears.
  const dir = tempDir();
  const script = `for i in $(seq 10); do
  s=${dir}/s$i
  rootlesskit --state-dir $s --copy-up=/etc sleep 2 &
  while [ ! -e $s/child_pid ]; do :; done
  grep -c ' /etc rw[^ ]* - tmpfs ' /proc/$(cat $s/child_pid)/mountinfo || echo 0
  kill $! 2>/dev/null; wait
done`;
  const r = run(['sh', '-c', script], { timeout: 60_000 });
  const counts = r.stdout.trim().split('\n');
  t.equal(counts.length, 10, r.stderr);
  t.ok(counts.every((c) => Number(c) >= 1), `a tmpfs on /etc each time child_pid appeared: ${counts.join(' ')}`);
});
