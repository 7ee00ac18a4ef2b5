// The client address the server inside sees, with a real remote client: as
// root, the test makes a "host" network namespace (where rk-portfwd runs, as
// the test user) and a "client" namespace joined to it by a veth, with
// TEST-NET-1 and 2001:db8:: addresses (both namespaces of the test's own; the
// machine's own network is never touched). The user's namespace, made by
// rk-unshare inside the "host" one, runs the test servers.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { isRoot, repoRoot, run, tempDir, waitFor } from './harness.js';
import { nsServers, portfwd, spawnTracked } from './net-helpers.js';

const ASK = join(repoRoot, 'test/src/fixtures/ask.mjs');
const NODE = join(repoRoot, 'test/src/fixtures/udp-node.mjs');
const tag = String(process.pid % 100000);
const HOST_NS = `rkh${tag}`;
const CLIENT_NS = `rkc${tag}`;
const HOST4 = '192.0.2.201';
const CLIENT4 = '192.0.2.202';
const HOST6 = '2001:db8::201';
const CLIENT6 = '2001:db8::202';

function sh(args: string[]): void {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
}

function topology(t: Test): void {
  const veth = `rkv${tag}`;
  sh(['ip', 'netns', 'add', HOST_NS]);
  t.teardown(() => spawnSync('ip', ['netns', 'del', HOST_NS]));
  sh(['ip', 'netns', 'add', CLIENT_NS]);
  t.teardown(() => spawnSync('ip', ['netns', 'del', CLIENT_NS]));
  sh(['ip', '-n', HOST_NS, 'link', 'add', `${veth}h`, 'type', 'veth', 'peer', 'name', `${veth}c`, 'netns', CLIENT_NS]);
  for (const [ns, dev, a4, a6] of [[HOST_NS, `${veth}h`, HOST4, HOST6], [CLIENT_NS, `${veth}c`, CLIENT4, CLIENT6]] as const) {
    sh(['ip', '-n', ns, 'addr', 'add', `${a4}/24`, 'dev', dev]);
    sh(['ip', '-n', ns, 'addr', 'add', `${a6}/64`, 'dev', dev, 'nodad']);
    sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  }
}

/** Runs ask.mjs in a namespace (as root); returns [clientPort, reply]. */
function ask(ns: string, mode: 'tcp' | 'udp', host: string, port: number, localPort?: number, localAddress?: string): [string, string] {
  const extra = localPort !== undefined ? [String(localPort), ...(localAddress ? [localAddress] : [])] : [];
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, ASK, mode, host, String(port), ...extra], { encoding: 'utf8', timeout: 15_000 });
  const [local, reply] = r.stdout.trim().split('|');
  return [local ?? '', reply ?? `(no answer: ${r.stderr.trim()})`];
}

t.test('the server inside sees the real client address (TCP and UDP, IPv4 and IPv6)', { skip: !isRoot && 'needs root to make the test namespaces' }, async (t) => {
  topology(t);
  const inHost = ['ip', 'netns', 'exec', HOST_NS];
  const ns = await nsServers(t, 7600, inHost);
  const p = await portfwd(t, [
    '--netns-pid', String(ns.pid),
    '-p', '0.0.0.0:18600:7600/udp',
    '-p', '0.0.0.0:18601:7601/tcp',
    '-p', '[::]:18602:[::1]:7600/udp6',
    '-p', '[::]:18603:[::1]:7601/tcp6',
  ], 4, inHost);
  t.ok(p.isRunning(), p.isRunning() ? 'rk-portfwd runs' : p.stderr());
  t.match(p.stderr(), /client addresses kept/);

  let [port, reply] = ask(CLIENT_NS, 'tcp', HOST4, 18601);
  t.equal(reply, `${CLIENT4} ${port}`, 'TCP over IPv4: the server sees the client address and port');
  [port, reply] = ask(CLIENT_NS, 'udp', HOST4, 18600);
  t.equal(reply, `${CLIENT4} ${port} ping`, 'UDP over IPv4: the server sees the client address and port, and its reply comes back');
  [port, reply] = ask(CLIENT_NS, 'tcp', HOST6, 18603);
  t.equal(reply, `${CLIENT6} ${port}`, 'TCP over IPv6');
  [port, reply] = ask(CLIENT_NS, 'udp', HOST6, 18602);
  t.equal(reply, `${CLIENT6} ${port} ping`, 'UDP over IPv6');
  [, reply] = ask(HOST_NS, 'tcp', '127.0.0.1', 18601);
  t.match(reply, /^127\.0\.0\.1 \d+$/, 'a loopback client is seen as loopback (as upstream)');
  [, reply] = ask(HOST_NS, 'udp', '127.0.0.1', 18600);
  t.match(reply, /^127\.0\.0\.1 \d+ ping$/, 'UDP from loopback works too');
  for (let i = 0; i < 3; i++) {
    [port, reply] = ask(CLIENT_NS, 'tcp', HOST4, 18601);
    t.equal(reply, `${CLIENT4} ${port}`, `again (${i + 1}): a new connection from a new port`);
  }
});

t.test('a client whose source port is bound inside (the service\'s own port) is still seen with its own address', { skip: !isRoot && 'needs root to make the test namespaces' }, async (t) => {
  topology(t);
  const inHost = ['ip', 'netns', 'exec', HOST_NS];
  const ns = await nsServers(t, 7800, inHost);
  await portfwd(t, ['--netns-pid', String(ns.pid), '-p', '0.0.0.0:18801:7801/tcp', '-p', '0.0.0.0:18800:7800/udp'], 2, inHost);
  let [port, reply] = ask(CLIENT_NS, 'tcp', HOST4, 18801, 7801);
  t.equal(port, '7801', 'the client connected from port 7801');
  t.match(reply, new RegExp(`^${CLIENT4.replace(/\./g, '\\.')} \\d+$`), `TCP: the server sees the client address, not loopback (${reply})`);
  t.not(reply, `${CLIENT4} 7801`, 'with a port of the kernel\'s pick (7801 is the service\'s)');
  [port, reply] = ask(CLIENT_NS, 'udp', HOST4, 18800, 7800);
  t.equal(port, '7800');
  t.match(reply, new RegExp(`^${CLIENT4.replace(/\./g, '\\.')} \\d+ ping$`), `UDP: the server sees the client address and its reply comes back (${reply})`);
});

t.test('a client that cannot be shown with its own address is shown as the namespace\'s gateway, never loopback', { skip: !isRoot && 'needs root to make the test namespaces' }, async (t) => {
  topology(t);
  const veth = `rkv${tag}`;
  const inHost = ['ip', 'netns', 'exec', HOST_NS];
  const ns = await nsServers(t, 7900, inHost);
  // The user's namespace gets a network like slirp4netns's (a veth pair stands for the tap).
  const inUser = ['nsenter', '-t', String(ns.pid), '-n', 'ip'];
  sh([...inUser, 'link', 'add', 'rkd0', 'type', 'veth', 'peer', 'name', 'rkd1']);
  sh([...inUser, 'link', 'set', 'rkd1', 'up']);
  sh([...inUser, 'addr', 'add', '10.0.2.100/24', 'dev', 'rkd0']);
  sh([...inUser, '-6', 'addr', 'add', 'fd00::100/64', 'dev', 'rkd0', 'nodad']);
  sh([...inUser, 'link', 'set', 'rkd0', 'up']);
  sh([...inUser, 'route', 'add', 'default', 'via', '10.0.2.2']);
  sh([...inUser, '-6', 'route', 'add', 'default', 'via', 'fd00::2']);
  // The client may also use 10.0.2.100 and a link-local address.
  sh(['ip', '-n', CLIENT_NS, 'addr', 'add', '10.0.2.100/32', 'dev', `${veth}c`]);
  sh(['ip', '-n', HOST_NS, 'route', 'add', '10.0.2.100/32', 'via', CLIENT4]);
  sh(['ip', '-n', HOST_NS, '-6', 'addr', 'add', 'fe80::201/64', 'dev', `${veth}h`, 'nodad']);
  sh(['ip', '-n', CLIENT_NS, '-6', 'addr', 'add', 'fe80::202/64', 'dev', `${veth}c`, 'nodad']);
  await portfwd(t, [
    '--netns-pid', String(ns.pid),
    '-p', '0.0.0.0:18901:7901/tcp', '-p', '0.0.0.0:18900:7900/udp', '-p', '[::]:18903:[::1]:7901/tcp6',
  ], 3, inHost);
  let [port, reply] = ask(CLIENT_NS, 'tcp', HOST4, 18901);
  t.equal(reply, `${CLIENT4} ${port}`, 'a client reached through the gateway is seen as itself');
  [, reply] = ask(CLIENT_NS, 'tcp', HOST6, 18901);
  t.match(reply, /^10\.0\.2\.2 \d+$/, `IPv6 client, IPv4 target: seen as the gateway (${reply})`);
  [, reply] = ask(CLIENT_NS, 'udp', HOST6, 18900);
  t.match(reply, /^10\.0\.2\.2 \d+ ping$/, `the same over UDP (${reply})`);
  [, reply] = ask(CLIENT_NS, 'tcp', HOST4, 18901, 0, '10.0.2.100');
  t.match(reply, /^10\.0\.2\.2 \d+$/, `a source inside the namespace's network (10.0.2.100) is not bound: seen as the gateway (${reply})`);
  [, reply] = ask(CLIENT_NS, 'udp', HOST4, 18900, 0, '10.0.2.100');
  t.match(reply, /^10\.0\.2\.2 \d+ ping$/, `the same over UDP (${reply})`);
  [, reply] = ask(CLIENT_NS, 'tcp', `fe80::201%${veth}c`, 18903);
  t.match(reply, /^fd00::2 \d+$/, `an IPv6 link-local client on a v6 port is not reset: seen as the gateway (${reply})`);
});

t.test('--source-ip-transparent=false: the server sees the forwarder', { skip: !isRoot && 'needs root to make the test namespaces' }, async (t) => {
  topology(t);
  const inHost = ['ip', 'netns', 'exec', HOST_NS];
  const ns = await nsServers(t, 7700, inHost);
  await portfwd(t, ['--netns-pid', String(ns.pid), '--source-ip-transparent=false', '-p', '0.0.0.0:18701:7701/tcp', '-p', '0.0.0.0:18700:7700/udp'], 2, inHost);
  t.match(ask(CLIENT_NS, 'tcp', HOST4, 18701)[1], /^127\.0\.0\.1 \d+$/);
  t.match(ask(CLIENT_NS, 'udp', HOST4, 18700)[1], /^127\.0\.0\.1 \d+ ping$/);
});

t.test('a UDP service that sends from its published port (swarm gossip): only datagrams to relayed clients go back through the relay; the rest leave by the default route, never looped into the service', { skip: !isRoot && 'needs root to make the test namespaces' }, async (t) => {
  topology(t);
  const veth = `rkv${tag}`;
  const OTHER4 = '192.0.2.203'; // a peer that never sent anything to the service
  sh(['ip', '-n', CLIENT_NS, 'addr', 'add', `${OTHER4}/24`, 'dev', `${veth}c`]);
  const P = 7946;
  const inHost = ['ip', 'netns', 'exec', HOST_NS];
  const state = `${tempDir()}/s`;
  const rk = spawnTracked(t, ['env', 'RK_TEST_DNS_UPSTREAM=127.0.0.1:9', 'rootlesskit', '--state-dir', state, '--net=builtin', '--port-driver=builtin',
    '-p', `0.0.0.0:${P}:${P}/udp`, 'node', NODE, 'serve', String(P)], inHost);
  await waitFor(() => rk.stdout().includes('ready') || !rk.isRunning(), 20_000);
  t.ok(rk.isRunning(), `rootlesskit runs ${rk.isRunning() ? '' : rk.stderr()}`);
  // The peer uses the service's own port as its source port, as memberlist does.
  let got: Array<{ at: string; from: string; text: string }> = [];
  for (let i = 0; i < 20 && !got.some((g) => g.text.startsWith('pong')); i++) {
    const r = spawnSync('ip', ['netns', 'exec', CLIENT_NS, process.execPath, NODE, 'peer', HOST4, String(P), '1500',
      `${CLIENT4}:${P}`, `${OTHER4}:${P}`, '--', 'ping', `send ${CLIENT4} ${P} gossip-to-client`, `send ${OTHER4} ${P} gossip-to-other`], { encoding: 'utf8', timeout: 15_000 });
    got = r.stdout.trim().split('\n').filter((l) => l).map((l) => JSON.parse(l));
  }
  const at = (local: string, text: RegExp) => got.find((g) => g.at === local && text.test(g.text));
  const viaNat = new RegExp(`^${HOST4.replace(/\./g, '\\.')}:\\d+$`);
  // The peer's port is the service's own, bound inside: the relay shows the peer's address with another port.
  t.same(at(`${CLIENT4}:${P}`, new RegExp(`^pong ${CLIENT4} \\d+$`))?.from, `${HOST4}:${P}`, `the relayed peer is seen with its own address and gets the reply from the published port (${JSON.stringify(got)})`);
  t.match(at(`${CLIENT4}:${P}`, /^gossip-to-client$/)?.from, viaNat, 'the service\'s own datagram to that peer\'s port 7946 (no relayed flow) leaves by the default route');
  t.match(at(`${OTHER4}:${P}`, /^gossip-to-other$/)?.from, viaNat, 'the same to a peer that never sent anything');
  t.notMatch(rk.stdout(), /looped/, 'the service never receives its own datagrams');
  // Inside: one rule for the relayed flow, none for the port; gone with the port.
  const seenPort = /^pong \S+ (\d+)$/.exec(at(`${CLIENT4}:${P}`, /^pong /)?.text ?? '')?.[1];
  const rules = () => spawnSync('nsenter', ['-t', readFileSync(`${state}/child_pid`, 'utf8').trim(), '-n', 'ip', 'rule'], { encoding: 'utf8' }).stdout;
  t.match(rules(), new RegExp(`to ${CLIENT4} ipproto udp dport ${seenPort} lookup 100`), 'a rule for the relayed flow inside');
  t.notMatch(rules(), /sport 7946/, 'no rule for the published port');
  const rm = run(['rootlessctl', '--socket', `${state}/api.sock`, 'remove-ports', '1']);
  t.equal(rm.code, 0, rm.stderr);
  t.notMatch(rules(), /lookup 100/, 'the flow\'s rule is removed with the port');
  rk.child.kill('SIGTERM');
  await rk.exited;
});

t.test('a peer flooding a UDP port from new source ports: the flows and their rules inside stay within the cap and are gone once unanswered', { skip: !isRoot && 'needs root to make the test namespaces' }, async (t) => {
  topology(t);
  const inHost = ['ip', 'netns', 'exec', HOST_NS];
  const ns = await nsServers(t, 7960, inHost);
  // 7969: nothing listens there, nothing answers.
  const p = await portfwd(t, ['--netns-pid', String(ns.pid), '-p', '0.0.0.0:18960:7969/udp'], 1, inHost);
  const rules = () => (spawnSync('nsenter', ['-t', String(ns.pid), '-n', 'ip', 'rule'], { encoding: 'utf8' }).stdout.match(/lookup 100/g) ?? []).length;
  const fds = () => spawnSync('ls', [`/proc/${p.pid}/fd`], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l).length;
  const before = fds();
  const flood = `const d=require('node:dgram');let n=0;const N=1500;(function next(){if(n++>=N)return;const s=d.createSocket('udp4');s.send('x',18960,'${HOST4}',()=>{s.close();setImmediate(next);});})();`;
  const r = spawnSync('ip', ['netns', 'exec', CLIENT_NS, process.execPath, '-e', flood], { encoding: 'utf8', timeout: 30_000 });
  t.equal(r.status, 0, r.stderr);
  await waitFor(() => rules() >= 1000, 5000).catch(() => {});
  const peak = rules();
  t.ok(peak >= 1000 && peak <= 1024, `rules inside at the peak: ${peak} (one per flow, at most 1024 flows per port)`);
  t.ok(fds() - before <= 1100, `the forwarder's fds grew by ${fds() - before} for 1500 source ports`);
  await waitFor(() => rules() === 0, 12_000).catch(() => {});
  t.equal(rules(), 0, 'every flow\'s rule is gone once its flow expired unanswered (5 s)');
  t.ok(fds() - before <= 5, `fds back to ${fds()} (${before} before)`);
  t.ok(p.isRunning(), 'the forwarder keeps running');
});
