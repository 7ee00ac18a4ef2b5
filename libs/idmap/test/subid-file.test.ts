// Parsing /etc/subuid and /etc/subgid text: what is an entry, what is skipped,
// and the file:line error a user meets for a bad line.
import t from 'tap';
import { RkError } from '@rk/cli';
import { parseSubidFile } from '../src/index.js';

t.test('entries with their line numbers; blank lines and comments skipped', async (t) => {
  const text = ['# subordinate UIDs', '', 'alice:100000:65536', '   ', '  # indented comment', '1001:200000:1000', 'bob:300000:65536\r', ''].join('\n');
  t.same(parseSubidFile(text, '/etc/subuid'), [
    { owner: 'alice', start: 100000, count: 65536, line: 3 },
    { owner: '1001', start: 200000, count: 1000, line: 6 },
    { owner: 'bob', start: 300000, count: 65536, line: 7 },
  ]);
});

t.test('an empty file has no entries', async (t) => {
  t.same(parseSubidFile('', 'f'), []);
  t.same(parseSubidFile('\n# only a comment\n', 'f'), []);
});

t.test('malformed lines are errors naming file:line and the expected form', async (t) => {
  const bad = ['alice:100000', 'alice:100000:65536:x', 'alice:abc:65536', 'alice:100000:-1', 'alice:100000:0', ':100000:65536', 'alice:4294967295:2', 'alice 100000 65536'];
  for (const line of bad) {
    const text = `ok:1:1\n\n${line}\n`;
    let err: unknown;
    try {
      parseSubidFile(text, '/tmp/subuid');
    } catch (e) {
      err = e;
    }
    t.type(err, RkError, line);
    t.equal((err as Error | undefined)?.message, `/tmp/subuid:3: malformed entry '${line}': expected NAME:START:COUNT`, line);
  }
});
