// --net=slirp4netns (Debian's slirp4netns), through rootlesskit and rk-net.
import t from 'tap';
import { existsSync } from 'node:fs';
import { run, tempDir } from './harness.js';
import { natDriverSuite } from './net-suite.js';

natDriverSuite(t, 'slirp4netns', { ip: '10.0.2.100', gateway: '10.0.2.2', dns: '10.0.2.3', mtu: 65520, ifname: 'tap0' }, { ipv6: true });

t.test('slirp4netns: rootlessctl info shows the network driver; net.json; the API socket', async (t) => {
  const dir = tempDir();
  const s = `${dir}/s`;
  const r = run(['rootlesskit', '--state-dir', s, '--net=slirp4netns', '--disable-host-loopback', 'sh', '-c', `rootlessctl --socket ${s}/api.sock info --json; cat ${s}/net.json; test -S ${s}/.s4nn.sock && echo api-socket`]);
  t.equal(r.code, 0, r.stderr);
  const info = JSON.parse(r.stdout.slice(0, r.stdout.indexOf('}\n}') + 3));
  t.same(info.networkDriver, { driver: 'slirp4netns', dns: ['10.0.2.3'], childIP: '10.0.2.100' });
  const net = JSON.parse(r.stdout.slice(r.stdout.indexOf('}\n}') + 3, r.stdout.lastIndexOf('}') + 1));
  t.match(net, { driver: 'slirp4netns', ifname: 'tap0', mtu: 65520, ip: '10.0.2.100', prefix: 24, gateway: '10.0.2.2', dns: ['10.0.2.3'], hostLoopback: false });
  t.equal(net.sockets.slirp4netnsApi, `${s}/.s4nn.sock`);
  t.match(r.stdout, /api-socket/);
});

// slirp4netns dying mid-run (restarted; given up on when it dies in a loop): net-restart.test.ts.

t.test('slirp4netns: sandbox and seccomp off unless asked for (upstream\'s default), on with auto', async (t) => {
  const started = (extra: string[]) => {
    const r = run(['rootlesskit', '--debug', '--net=slirp4netns', '--disable-host-loopback', ...extra, 'true']);
    t.equal(r.code, 0, r.stderr);
    return /debug: started (slirp4netns [^\n]*)/.exec(r.stderr)?.[1] ?? '';
  };
  const plain = started([]);
  t.match(plain, /^slirp4netns --mtu 65520 /);
  t.notMatch(plain, /--enable-sandbox|--enable-seccomp/);
  const auto = started(['--slirp4netns-sandbox=auto', '--slirp4netns-seccomp=auto']);
  t.match(auto, /--enable-sandbox --enable-seccomp/);
});

t.test('slirp4netns: bad input', async (t) => {
  const missing = run(['rootlesskit', '--net=slirp4netns', '--slirp4netns-binary=/nonexistent/slirp4netns', 'true']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /\/nonexistent\/slirp4netns not found: correct --slirp4netns-binary=PATH, or drop it and install the Debian package: sudo apt-get install slirp4netns\n/);
  const gone = run(['rk-net', '--net=slirp4netns', '999999999']);
  t.equal(gone.code, 1);
  t.match(gone.stderr, /no process 999999999/);
  const own = run(['sh', '-c', 'exec rk-net --net=slirp4netns $$']);
  t.equal(own.code, 1);
  t.match(own.stderr, /has no network namespace of its own: start it with rk-unshare --net/);
  const bad = run(['rk-net', '--net=slirp4netns', '0x10']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /not a PID/);
  const unknown = run(['rk-net', '--net=nosuch', '1']);
  t.equal(unknown.code, 2);
  const host = run(['rk-net', '--net=host', '1']);
  t.equal(host.code, 2);
  t.match(host.stderr, /nothing to set up/);
});
