// --bypass-ignore values: subnets a user may name, and the one-line refusal of
// anything else (with the exit status the caller asked for).
import t from 'tap';
import { checkCidrs } from '../src/cidr.js';

t.test('subnets and single addresses are accepted as given', async (t) => {
  const ok = ['192.168.0.0/16', '10.0.0.1', '0.0.0.0/0', 'fd00::/8', '2001:db8::1/128', '::/0'];
  t.same(checkCidrs(ok), ok);
  t.same(checkCidrs([]), []);
});

t.test('anything else is refused in one line naming the form', async (t) => {
  for (const bad of ['192.168.0.0/33', 'fd00::/129', '10.0.0.0/8/1', 'example.com/8', '10.0.0.0/', '10.0.0.0/x', '10.0.0.0/0008', '', '/8']) {
    t.throws(() => checkCidrs(['10.0.0.0/8', bad]), { message: `--bypass-ignore: ${JSON.stringify(bad)} is not a subnet: use ADDRESS/PREFIX, e.g. 192.168.0.0/16 or fd00::/8` }, bad);
  }
});

t.test('the exit status is the caller\'s: 2 for rk-bypass usage, 1 for rootlesskit', async (t) => {
  t.throws(() => checkCidrs(['x']), { exitCode: 2 });
  t.throws(() => checkCidrs(['x'], 1), { exitCode: 1 });
});
