// socat's address syntax: what each supported line becomes, and the refusals.
import t from 'tap';
import { parseSocatForward, takeSocatFlags, SocatSyntaxError } from '../src/socat.js';

t.test('supported lines', async (t) => {
  const f = parseSocatForward('TCP6-LISTEN:8443,fork,reuseaddr,bind=[::1],range=[::1]/128,max-children=5', 'TCP6:[::1]:443');
  t.same(f.listen, { kind: 'tcp', host: '::1', port: 8443, family: 6 });
  t.same(f.target, { kind: 'tcp', host: '::1', port: 443, family: 6 });
  t.same(f.options, { fork: true, ranges: [{ ip: '::1', prefix: 128 }], unlinkEarly: false, maxChildren: 5 });
  const u = parseSocatForward('UNIX-LISTEN:/run/a:b.sock,mode=660,user=rktest,group=0,unlink-early', 'unix-connect:/x.sock');
  t.same(u.listen, { kind: 'unix', path: '/run/a:b.sock' });
  t.equal(u.options.mode, 0o660);
  t.equal(u.options.fork, false, 'no fork: one-shot');
  t.same(parseSocatForward('ABSTRACT-LISTEN:n,fork', 'ABSTRACT-CONNECT:m').target, { kind: 'abstract', name: 'm' });
  t.same(parseSocatForward('TCP-LISTEN:80,range=10.0.0.0:255.0.0.0', 'TCP:localhost:8080').options.ranges, [{ ip: '10.0.0.0', prefix: 8 }]);
  t.same(parseSocatForward('UDP-RECVFROM:53,fork', 'UDP-SENDTO:127.0.0.1:5353').target, { kind: 'udp', host: '127.0.0.1', port: 5353, family: 0 });
});

t.test('refusals name the keyword or option', async (t) => {
  const bad: Array<[string, string, RegExp]> = [
    ['TCP-LISTEN:80,su=nobody', 'TCP:1.2.3.4:80', /su= is refused/],
    ['TCP-LISTEN:80,crlf', 'TCP:1.2.3.4:80', /option crlf is not supported/],
    ['TCP-LISTEN:80', 'TCP:1.2.3.4:80,sourceport=5', /option sourceport on the target/],
    ['OPENSSL-LISTEN:443', 'TCP:1.2.3.4:80', /address type OPENSSL-LISTEN/],
    ['TCP-LISTEN:80', 'EXEC:/bin/cat', /address type EXEC/],
    ['STDIO', 'TCP:1.2.3.4:80', /standard input/],
    ['TCP-LISTEN:80,mode=0660', 'TCP:1.2.3.4:80', /mode applies to a socket file/],
    ['UNIX-LISTEN:/s,mode=999', 'TCP:1.2.3.4:80', /octal/],
    ['TCP4-LISTEN:80,bind=::1', 'TCP:1.2.3.4:80', /not an IPv4 address/],
    ['TCP-LISTEN:80', 'TCP:1.2.3.4', /HOST:PORT/],
    ['UNIX-LISTEN:', 'TCP:1.2.3.4:80', /needs a socket file path/],
  ];
  for (const [a, b, re] of bad) t.throws(() => parseSocatForward(a, b), { constructor: SocatSyntaxError, message: re }, `${a} ${b}`);
});

t.test('top-level flags', async (t) => {
  t.same(takeSocatFlags(['-d', '-d', '-T', '30', 'A', 'B']), { rest: ['A', 'B'], debug: true, idleTimeout: 30 });
  t.same(takeSocatFlags(['-dd', '-T5', '-p', '80:80/tcp']), { rest: ['-p', '80:80/tcp'], debug: true, idleTimeout: 5 });
  t.throws(() => takeSocatFlags(['-x', 'A', 'B']), /socat option -x is not supported/);
  t.throws(() => takeSocatFlags(['-T', 'soon']), /-T needs a timeout/);
});
