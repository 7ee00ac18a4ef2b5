// rootlesskit --bypass, with a real "remote" host: as root, the test makes a
// "host" network namespace (where rootlesskit runs, as the test user) and a
// "remote" one joined to it by a veth, with TEST-NET-1 and 2001:db8::
// addresses (the machine's own network is never touched). The clients run as
// rootlesskit's CMD (so under its filter) and print what they saw: a
// bypassed socket's own address is the host's (192.0.2.201), where the
// namespace path (the NAT) shows 10.0.2.100.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { run, tempDir, waitFor } from './harness.js';
import { fdCount, spawnTracked } from './net-helpers.js';
import { CLIENT, HOST4, HOST6, HOST_NS, PORT, REMOTE, REMOTE4, REMOTE6, REMOTE_NS, rk, skip, tcp4, topology, udp4, type Step } from './bypass-lab.js';

t.test('--bypass: TCP and UDP to a remote host use host sockets (IPv4 and IPv6, blocking and non-blocking); options set before connect are kept', { skip }, async (t) => {
  await topology(t);
  const steps = [tcp4, `${tcp4},n`, `${tcp4},o`, udp4, `tcp,${REMOTE6},${PORT}`, `udp,${REMOTE6},${PORT}`, `${tcp4},on`];
  const refused = `tcp,${REMOTE4},${PORT + 99}`;
  const got = await rk(t, ['--ipv6', '--bypass'], [...steps, refused, 'HOLD'], [async (_p, st) => {
    const info = run(['rootlessctl', '--socket', `${st}/api.sock`, 'info', '--json']);
    t.equal(info.code, 0, info.stderr);
    const b = (JSON.parse(info.stdout) as { bypass?: { enabled: boolean; bypassed: number; failed: number } }).bypass;
    t.equal(b?.enabled, true, '/v1/info says bypass is on');
    t.equal(b?.bypassed, steps.length, `and counts ${steps.length} bypassed connections`);
    t.equal(b?.failed, 1, 'and the refused one');
  }]);
  for (const s of steps) {
    const r = got.get(s);
    const host = s.includes(':') ? HOST6 : HOST4;
    t.equal(r?.local?.[0], host, `${s}: the socket's own address is the host's (${JSON.stringify(r)})`);
    const want = s.startsWith('udp') ? `${host} ${r?.local?.[1]} ping` : `${host} ${r?.local?.[1]}`;
    t.equal(r?.reply, want, `${s}: the remote sees the host's address and that very socket's port`);
    if (s.startsWith('tcp')) t.equal(r?.bytes, 1000, `${s}: the remote's bytes arrive`);
  }
  t.equal(got.get(`${tcp4},n`)?.connect, 'Operation now in progress', 'a non-blocking connect still says EINPROGRESS');
  for (const s of [`${tcp4},o`, `${tcp4},on`]) {
    const r = got.get(s);
    t.same([r?.nodelay, r?.keepalive, r?.keepidle], [1, 1, 77], `${s}: TCP_NODELAY, SO_KEEPALIVE, TCP_KEEPIDLE set before connect read back after`);
  }
  t.equal(got.get(tcp4)?.cloexec, true, 'close-on-exec kept (Python makes its sockets so)');
  t.equal(got.get(refused)?.error, 'Connection refused', 'a blocking connect to a closed port: ECONNREFUSED, as the remote says it');
});

t.test('--bypass with a published port: a server inside is still reached through the port driver while its clients are bypassed', { skip }, async (t) => {
  await topology(t);
  const dir = tempDir();
  const script = `python3 ${REMOTE} 7301 5 >/dev/null & python3 ${CLIENT} ${tcp4} hold,${dir}/go; kill $!`;
  const p = spawnTracked(t, ['env', 'RK_TEST_DNS_UPSTREAM=127.0.0.1:9', 'rootlesskit', '--state-dir', `${dir}/s`, '--net=builtin', '--bypass', '--port-driver=builtin',
    '-p', '0.0.0.0:18301:7301/tcp', 'sh', '-c', script], ['ip', 'netns', 'exec', HOST_NS]);
  await waitFor(() => p.stdout().includes('holding') || !p.isRunning(), 30_000);
  const r = spawnSync('ip', ['netns', 'exec', REMOTE_NS, 'python3', '-c', `import socket; print(socket.create_connection(('${HOST4}', 18301), timeout=5).recv(99).decode())`], { encoding: 'utf8' });
  t.match(r.stdout, new RegExp(`^${REMOTE4.replace(/\./g, '\\.')} \\d+\nxxxxx`), `the remote reaches the server inside and is seen as itself (${r.stdout} ${r.stderr})`);
  writeFileSync(`${dir}/go`, '');
  await Promise.race([p.exited, new Promise((res) => setTimeout(res, 30_000).unref())]);
  const line = p.stdout().split('\n').find((l) => l.startsWith('{'));
  t.equal((JSON.parse(line ?? '{}') as Step).local?.[0], HOST4, 'and the client inside was bypassed');
});

t.test('without --bypass the same clients go through the namespace (what the test above tells apart)', { skip }, async (t) => {
  await topology(t);
  const got = await rk(t, [], [tcp4, udp4]);
  t.equal(got.get(tcp4)?.local?.[0], '10.0.2.100');
  t.equal(got.get(udp4)?.local?.[0], '10.0.2.100');
});

t.test('--bypass leaves the namespace\'s own traffic inside: gateway, DNS, loopback, its own address, --bypass-ignore; nothing reaches the host\'s loopback', { skip }, async (t) => {
  const { hostLoopClients } = await topology(t);
  const steps = [`tcp,10.0.2.2,${PORT}`, 'udp,10.0.2.3,53', `tcp,127.0.0.1,${PORT}`, `udp,127.0.0.1,${PORT}`, `tcp,10.0.2.100,${PORT}`, `tcp,::1,${PORT}`, `tcp,${REMOTE4},${PORT}`];
  const got = await rk(t, ['--disable-host-loopback', '--bypass', `--bypass-ignore=${REMOTE4}/32`], steps);
  t.notOk(got.get(steps[0]!)?.reply, `10.0.2.2 with --disable-host-loopback: refused (${JSON.stringify(got.get(steps[0]!))})`);
  t.equal(got.get(steps[1]!)?.local?.[0], '10.0.2.100', 'the DNS address stays inside');
  for (const s of steps.slice(2, 6)) t.notOk(got.get(s)?.reply, `${s}: nothing answers inside (${JSON.stringify(got.get(s))})`);
  t.equal(got.get(steps[6]!)?.local?.[0], '10.0.2.100', '--bypass-ignore: the remote is reached through the namespace');
  t.match(got.get(steps[6]!)?.reply ?? '', /^192\.0\.2\.201 \d+$/, 'and answers through the NAT');
  t.same(hostLoopClients(), [], 'the host\'s loopback server saw no client from the namespace');
});

t.test('--bypass against hostile callers: a racing thread rewriting the sockaddr never gets a host socket to the host\'s loopback; a bad pointer fails as without bypass; a flood of 5000 connects leaks nothing', { skip }, async (t) => {
  const { hostLoopClients } = await topology(t);
  const steps = [`race,${REMOTE4},${PORT},127.0.0.1,300`, 'efault', `sendto,${REMOTE4},${PORT},127.0.0.1`, `sendto,${REMOTE6},${PORT},::1`, 'HOLD', `flood,${REMOTE4},${PORT},5000`, 'HOLD'];
  let before = 0;
  const got = await rk(t, ['--ipv6', '--bypass'], steps, [
    async (p) => {
      before = fdCount(p.pid);
    },
    async (p, st) => {
      await waitFor(() => fdCount(p.pid) <= before, 10_000).catch(() => {});
      t.ok(fdCount(p.pid) <= before, `rootlesskit's fds after the flood: ${fdCount(p.pid)} (${before} before)`);
      const info = run(['rootlessctl', '--socket', `${st}/api.sock`, 'info', '--json']);
      t.equal(info.code, 0, `the API still answers: ${info.stderr}`);
      t.ok((JSON.parse(info.stdout) as { bypass: { bypassed: number } }).bypass.bypassed >= 5000, 'the flood was bypassed');
    },
  ]);
  t.same(got.get('efault'), { ret: -1, errno: 'Bad address', step: 'efault' }, 'a bad pointer: EFAULT, as the kernel says it');
  const peers = (got.get(steps[0]!)?.peers ?? {}) as Record<string, number>;
  t.ok(Object.keys(peers).length > 0, `race: ${JSON.stringify(peers)}`);
  for (const k of Object.keys(peers)) {
    if (k.startsWith(`${HOST4}>`)) t.equal(k, `${HOST4}>${REMOTE4}`, 'a host socket is only ever connected to the remote');
  }
  t.ok((peers[`${HOST4}>${REMOTE4}`] ?? 0) > 0, 'some connects were bypassed');
  t.equal(got.get(steps[5]!)?.started, 5000, 'the flood\'s connects all started');
  for (const s of [steps[2]!, steps[3]!]) t.equal(got.get(s)?.local?.[0], s.includes('::') ? HOST6 : HOST4, `${s}: a bypassed UDP socket, then sendto() and connect() to the host's loopback (${JSON.stringify(got.get(s))})`);
  t.same(hostLoopClients(), [], 'the host\'s loopback server saw no client from the namespace');
});

t.test('rk-bypass composed in shell (rk-unshare -> rk-idmap -> rk-bypass --supervise -> rk-net --release -> rk-bypass -- CMD) bypasses as rootlesskit --bypass does, and the supervisor ends with the namespace', { skip }, async (t) => {
  await topology(t);
  const dir = tempDir();
  const S = `${dir}/s`;
  const script = `
    rk-unshare --user --mount --net --gate --state-dir ${S} -- rk-bypass --state-dir ${S} -- python3 ${CLIENT} ${tcp4} ${udp4} hold,${dir}/go &
    u=$!
    for _ in $(seq 1 500); do [ -p ${S}/gate ] && break; sleep 0.01; done
    rk-idmap --state-dir ${S}
    rk-bypass --supervise --state-dir ${S} 2>${dir}/sup-err &
    s=$!
    for _ in $(seq 1 500); do [ -S ${S}/bypass.sock ] && break; sleep 0.01; done
    rk-net --net=builtin --state-dir ${S} --release &
    wait $u
    echo "unshare $?"
    wait $s
    echo "supervisor $? $(cat ${dir}/sup-err)"`;
  const p = spawnTracked(t, ['env', 'RK_TEST_DNS_UPSTREAM=127.0.0.1:9', 'sh', '-c', script], ['ip', 'netns', 'exec', HOST_NS]);
  await waitFor(() => p.stdout().includes('holding') || !p.isRunning(), 30_000);
  await waitFor(() => run(['cat', `${S}/bypass.json`]).stdout.includes('"bypassed":2'), 3000).catch(() => {});
  const counters = run(['cat', `${S}/bypass.json`]).stdout;
  t.match(counters, /"bypassed":2,"left":0/, `${S}/bypass.json counts them (${counters})`);
  writeFileSync(`${dir}/go`, '');
  await Promise.race([p.exited, new Promise((r) => setTimeout(r, 30_000).unref())]);
  const got = new Map<string, Step>();
  for (const l of p.stdout().split('\n')) if (l.startsWith('{')) got.set((JSON.parse(l) as Step).step, JSON.parse(l) as Step);
  t.equal(got.get(tcp4)?.local?.[0], HOST4, `TCP: a host socket (${p.stdout()} ${p.stderr()})`);
  t.equal(got.get(tcp4)?.reply, `${HOST4} ${got.get(tcp4)?.local?.[1]}`);
  t.equal(got.get(udp4)?.reply, `${HOST4} ${got.get(udp4)?.local?.[1]} ping`, 'UDP: a host socket');
  t.match(p.stdout(), /unshare 0/, 'CMD exited 0');
  t.match(p.stdout(), /supervisor 0 $/m, 'the supervisor exited 0 once the namespace\'s filtered processes were gone');
  t.notOk(run(['test', '-e', `${S}/bypass.sock`]).code === 0, 'bypass.sock removed');
});

t.test('nested network namespaces (as Docker\'s bridge containers): left inside by default; --bypass-nested bypasses those whose own default route leads out, never one without a route', { skip }, async (t) => {
  await topology(t);
  // CMD (root in its user namespace) makes a nested namespace joined to its
  // own by a veth (10.9.0.0/24, default route via 10.9.0.1, no forwarding:
  // only a bypass gets it out), and an isolated one (lo only).
  const nested = (dir: string) => `
    unshare -n sh -c 'echo $$ > ${dir}/nspid; until [ -e ${dir}/go ]; do sleep 0.05; done
      ip link set lo up; ip addr add 10.9.0.2/24 dev v1; ip link set v1 up; ip route add default via 10.9.0.1
      python3 ${CLIENT} ${tcp4},n' &
    until [ -s ${dir}/nspid ]; do sleep 0.05; done
    ip link add v0 type veth peer name v1 netns $(cat ${dir}/nspid)
    ip addr add 10.9.0.1/24 dev v0; ip link set v0 up
    touch ${dir}/go; wait
    unshare -n python3 ${CLIENT} ${udp4}`;
  for (const [flags, want] of [[['--bypass'], 'left'], [['--bypass', '--bypass-nested'], 'bypassed']] as const) {
    const dir = tempDir();
    const p = spawnTracked(t, ['env', 'RK_TEST_DNS_UPSTREAM=127.0.0.1:9', 'rootlesskit', '--state-dir', `${dir}/s`, '--net=builtin', ...flags, 'sh', '-c', nested(dir)], ['ip', 'netns', 'exec', HOST_NS]);
    await Promise.race([p.exited, new Promise((r) => setTimeout(r, 60_000).unref())]);
    const got = new Map<string, Step>();
    for (const l of p.stdout().split('\n')) if (l.startsWith('{')) got.set((JSON.parse(l) as Step).step, JSON.parse(l) as Step);
    const routed = got.get(`${tcp4},n`);
    if (want === 'left') t.ok(routed?.local?.[0] === '10.9.0.2' && !routed.reply, `${flags.join(' ')}: the nested namespace's connection stays in it, where nothing forwards it (${JSON.stringify(routed)} ${p.stderr().slice(-300)})`);
    else t.equal(routed?.reply, `${HOST4} ${routed?.local?.[1]}`, `${flags.join(' ')}: bypassed from the nested namespace (${JSON.stringify(routed)} ${p.stderr().slice(-300)})`);
    t.equal(got.get(udp4)?.error, 'Network is unreachable', `${flags.join(' ')}: a nested namespace without a route is never bypassed`);
  }
});

t.test('bad input: one line naming the fix, a non-zero status, nothing left behind', async (t) => {
  const dir = tempDir();
  const cases: Array<[string[], number, RegExp]> = [
    [['rootlesskit', '--state-dir', `${dir}/a`, '--bypass', '--net=host', 'true'], 1, /--bypass needs a network namespace with a driver: drop --bypass or use e\.g\. --net=builtin/],
    [['rootlesskit', '--state-dir', `${dir}/b`, '--net=builtin', '--bypass', '--bypass-ignore=nope', 'true'], 1, /--bypass-ignore: "nope" is not a subnet: use ADDRESS\/PREFIX/],
    [['rootlesskit', '--state-dir', `${dir}/c`, '--net=builtin', '--bypass-ignore=10.0.0.0/8', 'true'], 1, /--bypass-ignore and --bypass-nested need --bypass/],
    [['rootlesskit', '--state-dir', `${dir}/f`, '--net=builtin', '--bypass', '--detach-netns', 'true'], 1, /--bypass cannot be used with --detach-netns yet: drop one of them/],
    [['rk-bypass', '--', 'true'], 2, /--state-dir DIR is required/],
    [['rk-bypass', '--state-dir', `${dir}/d`, '--', 'true'], 1, /cannot reach the bypass supervisor at .*: start rk-bypass --supervise --state-dir/],
    [['rk-bypass', '--supervise', '--state-dir', `${dir}/e`], 1, /cannot read .*child_pid/],
    [['rk-bypass', '--supervise', '--state-dir', `${dir}/e`, '--bypass-ignore=1.2.3.4/40'], 2, /not a subnet/],
  ];
  for (const [argv, code, msg] of cases) {
    const r = run(argv);
    t.equal(r.code, code, `${argv.join(' ')}: exit ${code}`);
    t.match(r.stderr, msg);
    t.equal(r.stderr.trim().split('\n').filter((l) => /error/.test(l)).length, 1, 'one error line');
  }
  t.same(run(['ls', '-A', dir]).stdout, '', 'nothing left behind');
});
