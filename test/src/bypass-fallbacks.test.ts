// --bypass where the host socket could not simply be swapped in: a socket
// already in an epoll instance, a blocking connect interrupted by a signal or
// cut short by SO_SNDTIMEO, and a supervisor that dies. Same lab as
// bypass.test.ts (bypass-lab.ts); 192.0.2.203 is an address on the remote's
// link where nobody answers: a connect to it takes about 3 s (ARP) and then
// fails with EHOSTUNREACH, long enough to interrupt.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { run, tempDir, waitFor } from './harness.js';
import { spawnTracked } from './net-helpers.js';
import { CLIENT, HOST4, HOST_NS, PORT, REMOTE4, rk, sh, skip, tcp4, topology, type Step } from './bypass-lab.js';

const NOBODY4 = '192.0.2.203';
const HOLE4 = '192.0.2.250';

t.test('a connect() from a thread that is not the main one is bypassed (seccomp names the thread; Go programs such as dockerd connect from any thread)', { skip }, async (t) => {
  await topology(t);
  const step = `thread,${REMOTE4},${PORT}`;
  const got = await rk(t, ['--bypass'], [step]);
  t.equal(got.get(step)?.local?.[0], HOST4, `a host socket (${JSON.stringify(got.get(step))})`);
  t.equal(got.get(step)?.reply, `${HOST4} ${got.get(step)?.local?.[1]}`, 'the remote sees it');
});

t.test('a socket registered in epoll before connect() takes the namespace path (its registration keeps working); one registered after is bypassed', { skip }, async (t) => {
  await topology(t);
  const first = `epoll,${REMOTE4},${PORT}`;
  const got = await rk(t, ['--bypass'], [first, `${tcp4},n`, 'HOLD'], [async (_p, st) => {
    const info = run(['rootlessctl', '--socket', `${st}/api.sock`, 'info', '--json']);
    const b = (JSON.parse(info.stdout) as { bypass: { bypassed: number; fallback: number } }).bypass;
    t.equal(b.fallback, 1, `/v1/info counts it as a fallback (${info.stdout})`);
    t.equal(b.bypassed, 1, 'and the other one as bypassed');
  }]);
  const r = got.get(first);
  t.equal(r?.connect, 'Operation now in progress', `${JSON.stringify(r)}`);
  t.equal(r?.events, 1, 'epoll reports the connected socket (a swapped socket would have lost its registration: no event)');
  t.equal(r?.local?.[0], '10.0.2.100', 'through the namespace');
  t.match(r?.reply ?? '', /^192\.0\.2\.201 \d+$/, 'and the remote answers (through the NAT)');
  t.equal(got.get(`${tcp4},n`)?.local?.[0], HOST4, 'a socket put in epoll after connect() is bypassed');
});

t.test('a blocking connect interrupted by a signal (EINTR) leaves the connection going on on that socket, as the kernel does; SO_SNDTIMEO cuts it short on time (EINPROGRESS), the connection going on', { skip }, async (t) => {
  await topology(t);
  const eintr = `eintr,${NOBODY4},${PORT}`;
  const sndtimeo = `sndtimeo,${NOBODY4},${PORT}`;
  const got = await rk(t, ['--bypass'], [eintr, sndtimeo]);
  const e = got.get(eintr);
  t.equal(e?.connect, 'Interrupted system call', `EINTR at the signal (${JSON.stringify(e)})`);
  t.ok((e?.after as number) < 1, 'at once');
  t.equal(e?.so_error, 'No route to host', 'then the socket reports the attempt\'s outcome (an unconnected socket would say "Success" at once)');
  t.ok((e?.waited as number) >= 1.5, 'after the attempt ran its course');
  const s = got.get(sndtimeo);
  t.same(s?.connect, Array(3).fill('Operation now in progress'), `SO_SNDTIMEO: EINPROGRESS (${JSON.stringify(s)})`);
  const after = (s?.after ?? []) as number[];
  t.ok(after.length === 3 && after.every((x) => x >= 0.18 && x < 0.45), `each after about 0.2 s (${after.join(', ')} s)`);
  t.equal(s?.so_error, 'No route to host', 'and the attempt went on on that socket');
});

t.test('the in-flight budget: past 1024 blocking connects waiting in the supervisor, one warning line; other connects are still served (through the namespace), and bypassed again once they complete', { skip }, async (t) => {
  await topology(t);
  // A black hole: routed to the remote, which does not forward (SYNs dropped, no error: each waits its SO_SNDTIMEO, 4 s).
  sh(['ip', '-n', HOST_NS, 'route', 'add', `${HOLE4}/32`, 'via', REMOTE4]);
  const dir = tempDir();
  const step = `saturate,${HOLE4},${PORT},1100,${REMOTE4},${PORT}`;
  const p = spawnTracked(t, ['env', 'RK_TEST_DNS_UPSTREAM=127.0.0.1:9', 'rootlesskit', '--state-dir', `${dir}/s`, '--net=builtin', '--bypass', 'python3', CLIENT, step],
    ['ip', 'netns', 'exec', HOST_NS]);
  await Promise.race([p.exited, new Promise((r) => setTimeout(r, 60_000).unref())]);
  const line = p.stdout().split('\n').find((l) => l.startsWith('{'));
  const r = JSON.parse(line ?? '{}') as { during?: [string, number]; during_reply?: string; after?: [string, number] };
  t.equal(r.during?.[0], '10.0.2.100', `while 1024 wait: a new connect goes through the namespace (${line} ${p.stderr().slice(-300)})`);
  t.match(r.during_reply ?? '', /^192\.0\.2\.201 \d+$/, 'and is answered');
  t.equal(r.after?.[0], HOST4, 'once they complete: bypassed again');
  t.equal((p.stderr().match(/1024 connects already waiting in the supervisor/g) ?? []).length, 1, 'one warning line');
});

t.test('a supervisor that dies: connect() inside fails at once with ENOSYS (a waiting one too), never hangs; other calls go on', { skip }, async (t) => {
  await topology(t);
  const dir = tempDir();
  const S = `${dir}/s`;
  // The client waits in a blocking connect (to nobody: about 3 s) when the supervisor is killed.
  const script = `
    rk-unshare --user --mount --net --gate --state-dir ${S} -- rk-bypass --state-dir ${S} -- sh -c '
      python3 ${CLIENT} hold,${dir}/go tcp,${NOBODY4},${PORT} ${tcp4} udp,${REMOTE4},${PORT}; echo "cat $(echo works)"' &
    u=$!
    for _ in $(seq 1 500); do [ -p ${S}/gate ] && break; sleep 0.01; done
    rk-idmap --state-dir ${S}
    rk-bypass --supervise --state-dir ${S} &
    echo "supervisor $!"
    for _ in $(seq 1 500); do [ -S ${S}/bypass.sock ] && break; sleep 0.01; done
    rk-net --net=builtin --state-dir ${S} --release &
    wait $u
    echo "unshare $?"`;
  const p = spawnTracked(t, ['env', 'RK_TEST_DNS_UPSTREAM=127.0.0.1:9', 'sh', '-c', script], ['ip', 'netns', 'exec', HOST_NS]);
  await waitFor(() => p.stdout().includes('holding') || !p.isRunning(), 30_000);
  const sup = Number(/supervisor (\d+)/.exec(p.stdout())?.[1]);
  writeFileSync(`${dir}/go`, '');
  await new Promise((r) => setTimeout(r, 500));
  const killedAt = Date.now();
  run(['kill', '-KILL', String(sup)]);
  await Promise.race([p.exited, new Promise((r) => setTimeout(r, 30_000).unref())]);
  const took = Date.now() - killedAt;
  const got = new Map<string, Step>();
  for (const l of p.stdout().split('\n')) if (l.startsWith('{')) got.set((JSON.parse(l) as Step).step, JSON.parse(l) as Step);
  t.equal(got.get(`tcp,${NOBODY4},${PORT}`)?.error, 'Function not implemented', `the waiting connect: ENOSYS (${p.stdout()} ${p.stderr().slice(-300)})`);
  t.equal(got.get(tcp4)?.error, 'Function not implemented', 'a later TCP connect: ENOSYS');
  t.equal(got.get(`udp,${REMOTE4},${PORT}`)?.error, 'Function not implemented', 'a later UDP connect: ENOSYS');
  t.match(p.stdout(), /cat works/, 'other system calls go on (a shell, a command substitution)');
  t.match(p.stdout(), /unshare 0/, 'CMD ends normally');
  t.ok(took < 2500, `no call waited for the dead supervisor (${took} ms from the kill to the end)`);
});
