import t from 'tap';
import { RkError } from '@rk/cli';
import { ApiError, formatPortSpec, ipOnlyDriverProblem, parsePortSpec, validatePortSpec, type PortStatus } from '../src/index.js';

t.test('parsePortSpec: the forms users write', async (t) => {
  const cases: Array<[string, object]> = [
    ['127.0.0.1:8080:80/tcp', { proto: 'tcp', parentIP: '127.0.0.1', parentPort: 8080, childPort: 80 }],
    ['8080:80/udp', { proto: 'udp', parentPort: 8080, childPort: 80 }],
    ['0.0.0.0:53:53/udp4', { proto: 'udp4', parentIP: '0.0.0.0', parentPort: 53, childPort: 53 }],
    ['127.0.0.1:8080:10.0.2.100:80/tcp', { proto: 'tcp', parentIP: '127.0.0.1', parentPort: 8080, childIP: '10.0.2.100', childPort: 80 }],
    ['8080:10.0.2.100:80/tcp', { proto: 'tcp', parentPort: 8080, childIP: '10.0.2.100', childPort: 80 }],
    ['[::1]:8080:80/tcp6', { proto: 'tcp6', parentIP: '::1', parentPort: 8080, childPort: 80 }],
    ['[::1]:8080:[fd00::100]:80/tcp', { proto: 'tcp', parentIP: '::1', parentPort: 8080, childIP: 'fd00::100', childPort: 80 }],
    ['8080:[fd00::2]:80/udp6', { proto: 'udp6', parentPort: 8080, childIP: 'fd00::2', childPort: 80 }],
    [':8080:80/tcp', { proto: 'tcp', parentPort: 8080, childPort: 80 }],
    ['1:65535/sctp', { proto: 'sctp', parentPort: 1, childPort: 65535 }],
    ['[::]:8080:[127.0.0.1]:80/tcp6', { proto: 'tcp6', parentIP: '::', parentPort: 8080, childIP: '127.0.0.1', childPort: 80 }],
    ['[127.0.0.1]:8080:80/tcp', { proto: 'tcp', parentIP: '127.0.0.1', parentPort: 8080, childPort: 80 }],
    ['[::ffff:127.0.0.1]:9000:9000/sctp6', { proto: 'sctp6', parentIP: '::ffff:127.0.0.1', parentPort: 9000, childPort: 9000 }],
  ];
  for (const [text, want] of cases) t.strictSame(parsePortSpec(text), want, text);
});

t.test('parsePortSpec: bad specs are RkErrors (exit 2) that name the expected form', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['8080:80', /missing \/PROTO/],
    ['8080:80/', /unknown proto ""/],
    ['8080:80/icmp', /unknown proto "icmp"/],
    ['8080:80/TCP', /unknown proto "TCP"/],
    ['80/tcp', /need both a parent port and a child port/],
    ['/tcp', /need both/],
    ['127.0.0.1:8080:80:90:100/tcp', /too many/],
    ['::1:8080:80/tcp', /too many .*brackets/],
    ['localhost:8080:80/tcp', /parent IP "localhost" is not an IP address/],
    ['8080:80:90/tcp', /parent IP "8080" is not an IP address/],
    ['127.0.0.1:0:80/tcp', /parent port 0 is out of range/],
    ['127.0.0.1:8080:65536/tcp', /child port 65536 is out of range/],
    ['127.0.0.1:http:80/tcp', /parent port "http" is not a port number/],
    ['127.0.0.1:8080:-1/tcp', /child port "-1" is not a port number/],
    ['127.0.0.1:8080:10.0.2:80/tcp', /child IP "10.0.2" is not an IP address/],
    ['[::1:8080:80/tcp', /unclosed "\["/],
    ['[::1]x:8080:80/tcp', /unexpected "x" after "\]"/],
    ['[localhost]:8080:80/tcp', /parent IP "localhost" is not an IP address/],
    ['1.2.3.4:[::1:80/tcp', /unclosed/],
    ['1.2.3.4:8]080:80/tcp', /brackets must enclose/],
    ['', /missing \/PROTO/],
  ];
  for (const [text, re] of cases) {
    let err: unknown;
    try {
      parsePortSpec(text);
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof RkError, `${JSON.stringify(text)} throws RkError`);
    t.equal((err as RkError).exitCode, 2, `${JSON.stringify(text)}: exit 2`);
    t.match((err as Error).message, re, text);
    t.match((err as Error).message, /expected \[PARENTIP:\]PARENTPORT\[:CHILDIP\]:CHILDPORT\/PROTO/, `${text}: names the form`);
    t.notOk((err as Error).message.includes('\n'), 'one line');
  }
});

t.test('formatPortSpec is the inverse of parsePortSpec', async (t) => {
  const specs = [
    '127.0.0.1:8080:80/tcp',
    '8080:80/udp',
    '8080:10.0.2.100:80/tcp',
    '127.0.0.1:8080:10.0.2.100:80/tcp4',
    '[::1]:8080:80/tcp6',
    '[::1]:8080:[fd00::100]:80/sctp',
    '8080:[fd00::2]:80/udp6',
  ];
  for (const s of specs) t.equal(formatPortSpec(parsePortSpec(s)), s, s);
  t.equal(formatPortSpec({ proto: 'tcp', parentIP: '', parentPort: 1, childIP: '', childPort: 2 }), '1:2/tcp', 'empty IPs left out');
});

t.test('validatePortSpec', async (t) => {
  const existing: PortStatus[] = [
    { id: 1, spec: { proto: 'tcp', parentIP: '127.0.0.1', parentPort: 8080, childPort: 80 } },
    { id: 2, spec: { proto: 'udp', parentPort: 5353, childPort: 53 } },
    { id: 3, spec: { proto: 'tcp6', parentIP: '::1', parentPort: 9090, childPort: 90 } },
  ];
  const fails = (spec: object, re: RegExp, protos?: string[]) => {
    try {
      validatePortSpec(spec as never, existing, protos);
      t.fail(`accepted ${JSON.stringify(spec)}`);
    } catch (err) {
      t.ok(err instanceof ApiError && err.status === 400, 'ApiError 400');
      t.match((err as Error).message, re, JSON.stringify(spec));
    }
  };
  const ok = (spec: object, protos?: string[]) => t.doesNotThrow(() => validatePortSpec(spec as never, existing, protos), JSON.stringify(spec));
  fails({ proto: 'tcp', parentIP: '127.0.0.1', parentPort: 8080, childPort: 81 }, /^conflict with ID 1$/);
  fails({ proto: 'tcp4', parentPort: 8080, childPort: 81 }, /^conflict with ID 1$/);
  fails({ proto: 'udp', parentIP: '10.1.1.1', parentPort: 5353, childPort: 53 }, /^conflict with ID 2$/);
  ok({ proto: 'udp', parentIP: '127.0.0.1', parentPort: 8080, childPort: 80 });
  ok({ proto: 'tcp', parentIP: '127.0.0.2', parentPort: 8080, childPort: 80 });
  ok({ proto: 'tcp4', parentPort: 9090, childPort: 90 });
  fails({ proto: 'tcp', parentPort: 9090, childPort: 90 }, /conflict with ID 3/);
  fails({ proto: 'icmp', parentPort: 1, childPort: 1 }, /unsupported proto: "icmp"/);
  fails({ proto: 'sctp', parentPort: 1, childPort: 1 }, /unsupported proto: "sctp" \(supported: tcp, udp\)/, ['tcp', 'udp']);
  fails({ proto: 'tcp', parentPort: 0, childPort: 1 }, /invalid parentPort: 0/);
  fails({ proto: 'tcp', parentPort: 1, childPort: 70000 }, /invalid childPort: 70000/);
  fails({ proto: 'tcp', parentPort: 1.5, childPort: 1 }, /invalid parentPort/);
  fails({ proto: 'tcp', parentIP: 'bogus', parentPort: 1, childPort: 1 }, /invalid parentIP: "bogus"/);
  fails({ proto: 'tcp4', parentIP: '::1', parentPort: 1, childPort: 1 }, /parentIP ::1 is not IPv4/);
  fails({ proto: 'udp6', parentIP: '10.0.2.100', parentPort: 1, childPort: 1 }, /parentIP 10.0.2.100 is not IPv6/);
  // v4 to v6 and back, as upstream's integration-port.sh has them
  ok({ proto: 'tcp6', parentIP: '::', childIP: '127.0.0.1', parentPort: 2, childPort: 1 });
  ok({ proto: 'tcp4', parentIP: '0.0.0.0', childIP: '::1', parentPort: 3, childPort: 1 });
  ok({ proto: 'udp6', parentIP: '0.0.0.0', parentPort: 4, childPort: 1 });
});

t.test('parsePortSpec: proto unix, a socket file on either side', async (t) => {
  const cases: Array<[string, object]> = [
    ['/run/user/1000/web.sock:80/unix', { proto: 'unix', parentPort: 0, childPort: 80, parentPath: '/run/user/1000/web.sock' }],
    ['/tmp/a.sock:10.0.2.100:80/unix', { proto: 'unix', parentPort: 0, childPort: 80, parentPath: '/tmp/a.sock', childIP: '10.0.2.100' }],
    ['/tmp/a.sock:[::1]:80/unix', { proto: 'unix', parentPort: 0, childPort: 80, parentPath: '/tmp/a.sock', childIP: '::1' }],
    ['2375:/run/docker.sock/unix', { proto: 'unix', parentPort: 2375, childPort: 0, childPath: '/run/docker.sock' }],
    ['127.0.0.1:2375:/run/docker.sock/unix', { proto: 'unix', parentPort: 2375, childPort: 0, childPath: '/run/docker.sock', parentIP: '127.0.0.1' }],
    ['[::1]:2375:/run/docker.sock/unix', { proto: 'unix', parentPort: 2375, childPort: 0, childPath: '/run/docker.sock', parentIP: '::1' }],
    ['/tmp/host.sock:/run/in.sock/unix', { proto: 'unix', parentPort: 0, childPort: 0, parentPath: '/tmp/host.sock', childPath: '/run/in.sock' }],
    ['/tmp/a,b.sock:80/unix,proxy-protocol=v1', { proto: 'unix', parentPort: 0, childPort: 80, parentPath: '/tmp/a,b.sock', proxyProtocol: 'v1' }],
    ['8080:80/tcp,proxy-protocol=v2', { proto: 'tcp', parentPort: 8080, childPort: 80, proxyProtocol: 'v2' }],
    ['127.0.0.1:8080:80/tcp4,proxy-protocol=none', { proto: 'tcp4', parentIP: '127.0.0.1', parentPort: 8080, childPort: 80, proxyProtocol: 'none' }],
  ];
  for (const [text, want] of cases) {
    t.strictSame(parsePortSpec(text), want, text);
    t.equal(formatPortSpec(parsePortSpec(text)), text, `${text}: formats back`);
  }
});

t.test('parsePortSpec: bad unix specs and options, one line each', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['8080:80/unix', /needs an absolute socket file path.*expected PARENTPATH/],
    ['run/a.sock:80/unix', /needs an absolute socket file path/],
    ['/tmp/dir/:80/unix', /names a directory/],
    [`/tmp/${'x'.repeat(110)}:80/unix`, /more than a socket path holds \(107\)/],
    ['/tmp/a.sock:1.2.3.4:5:80/unix', /too many/],
    ['1.2.3.4:5:6:/run/a.sock/unix', /too many/],
    ['/a.sock:/b.sock:/c.sock/unix', /at most two socket file paths.*expected PARENTPATH/],
    ['/a.sock:x/unix', /child port "x" is not a port number; expected PARENTPATH/],
    ['/tmp/a.sock:0/unix', /child port 0 is out of range/],
    ['8080:80/tcp,proxy-protocol=v3', /proxy-protocol=v3: give v1, v2 or none/],
    ['8080:80/tcp,proxy-protocol', /proxy-protocol=: give/],
    ['8080:80/tcp,fork', /unknown option "fork"/],
    ['53:53/udp,proxy-protocol=v2', /applies to streams/],
  ];
  for (const [text, re] of cases) {
    let err: unknown;
    try {
      parsePortSpec(text);
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof RkError && err.exitCode === 2, `${text}: RkError, exit 2`);
    t.match((err as Error)?.message, re, text);
    t.notOk((err as Error)?.message.includes('\n'), 'one line');
  }
});

t.test('validatePortSpec: unix specs and proxyProtocol (the API)', async (t) => {
  const existing: PortStatus[] = [
    { id: 1, spec: { proto: 'tcp', parentPort: 8080, childPort: 80 } },
    { id: 2, spec: { proto: 'unix', parentPath: '/tmp/a.sock', parentPort: 0, childPort: 80 } },
  ];
  const fails = (spec: object, re: RegExp, protos?: string[]) => {
    try {
      validatePortSpec(spec as never, existing, protos);
      t.fail(`accepted ${JSON.stringify(spec)}`);
    } catch (err) {
      t.ok(err instanceof ApiError && err.status === 400, 'ApiError 400');
      t.match((err as Error).message, re, JSON.stringify(spec));
    }
  };
  const ok = (spec: object) => t.doesNotThrow(() => validatePortSpec(spec as never, existing), JSON.stringify(spec));
  ok({ proto: 'unix', parentPath: '/tmp/b.sock', childPort: 80 });
  ok({ proto: 'unix', parentPort: 2375, childPath: '/run/docker.sock' });
  ok({ proto: 'tcp', parentPort: 8081, childPort: 80, proxyProtocol: 'v2' });
  fails({ proto: 'unix', parentPath: '/tmp/a.sock', childPort: 81 }, /conflict with ID 2 \(the same socket file\)/);
  fails({ proto: 'unix', parentPort: 8080, childPath: '/run/x.sock' }, /^conflict with ID 1$/);
  fails({ proto: 'unix', parentPort: 1, childPort: 2 }, /proto unix needs parentPath or childPath/);
  fails({ proto: 'tcp', parentPath: '/tmp/c.sock', childPort: 2 }, /parentPath needs proto "unix"/);
  fails({ proto: 'unix', parentPath: 'rel.sock', childPort: 2 }, /invalid parentPath: "rel.sock" is not an absolute path/);
  fails({ proto: 'unix', parentPath: '/tmp/d.sock', parentPort: 5, childPort: 2 }, /parentPath or parentIP\/parentPort, not both/);
  fails({ proto: 'unix', parentPort: 5, childPath: '/x.sock', childIP: '127.0.0.1' }, /childPath or childIP\/childPort, not both/);
  fails({ proto: 'unix', parentPath: '/tmp/e.sock', childPort: 2 }, /unsupported proto: "unix"/, ['tcp', 'udp']);
  fails({ proto: 'udp', parentPort: 5, childPort: 2, proxyProtocol: 'v1' }, /proxyProtocol applies to streams/);
  fails({ proto: 'tcp', parentPort: 5, childPort: 2, proxyProtocol: 'v9' }, /invalid proxyProtocol: "v9"/);
});

t.test('ipOnlyDriverProblem: what slirp4netns cannot forward', async (t) => {
  t.match(ipOnlyDriverProblem(parsePortSpec('/tmp/a.sock:80/unix'), 'slirp4netns'), /proto unix \(a socket file\) is not supported by the slirp4netns port driver.*use --port-driver=builtin/);
  t.match(ipOnlyDriverProblem(parsePortSpec('8080:80/tcp,proxy-protocol=v2'), 'slirp4netns'), /proxy-protocol is not supported.*use --port-driver=builtin/);
  t.equal(ipOnlyDriverProblem(parsePortSpec('8080:80/tcp,proxy-protocol=none'), 'slirp4netns'), undefined);
  t.equal(ipOnlyDriverProblem(parsePortSpec('8080:80/udp'), 'slirp4netns'), undefined);
});
