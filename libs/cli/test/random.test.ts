// randomSuffix: the random part of temporary names (staging dirs, sysfs aside).
import t from 'tap';
import { randomSuffix } from '../src/index.js';

t.test('10 lowercase hex characters, different every time', async (t) => {
  const all = Array.from({ length: 200 }, () => randomSuffix());
  t.same(all.filter((s) => !/^[0-9a-f]{10}$/.test(s)), [], 'every one is 10 hex characters');
  t.equal(new Set(all).size, 200, 'no repeats in 200 draws (40 bits each)');
});
