// computeIdMaps with subuid/subgid files and a fake getsubids made here: the
// maps, where each range comes from, warnings, and the errors a user meets.
import t, { type Test } from 'tap';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { computeIdMaps, formatIdMap, type ComputeOptions } from '../src/index.js';
import { subidService } from '../src/nsswitch.js';

function dir(t: Test): string {
  const d = mkdtempSync(join(tmpdir(), 'rk-idmap-unit-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Options reading subuid/subgid files with the given text, for user alice (uid 1500, gid 1600). */
function files(t: Test, subuid: string, subgid = subuid): ComputeOptions {
  const d = dir(t);
  writeFileSync(join(d, 'subuid'), subuid);
  writeFileSync(join(d, 'subgid'), subgid);
  return { user: 'alice', uid: 1500, gid: 1600, source: 'static', subuidFile: join(d, 'subuid'), subgidFile: join(d, 'subgid') };
}

/** A getsubids stand-in: prints `uid` for "getsubids USER", `gid` for "getsubids -g USER", and exits with `code`. */
function fakeGetsubids(t: Test, out: { uid: string; gid: string; code?: number }): string {
  const file = join(dir(t), 'getsubids');
  writeFileSync(
    file,
    `#!/bin/sh
if [ "$1" = -g ]; then printf '%s' '${out.gid}'; else printf '%s' '${out.uid}'; fi
[ ${out.code ?? 0} = 0 ] || echo "Error fetching ranges" >&2
exit ${out.code ?? 0}
`,
  );
  chmodSync(file, 0o755);
  return file;
}

t.test('caller at 0, then each range in order; by name and by numeric UID', async (t) => {
  const opts = files(t, 'bob:50000:65536\nalice:100000:65536\n# x\n1500:300000:1000\nalice:400000:65536\n', 'alice:200000:65536\n');
  const m = await computeIdMaps(opts);
  t.equal(m.source, 'static');
  t.equal(m.user, 'alice');
  t.same(m.uidMap, [
    { inside: 0, outside: 1500, count: 1 },
    { inside: 1, outside: 100000, count: 65536 },
    { inside: 65537, outside: 300000, count: 1000 },
    { inside: 66537, outside: 400000, count: 65536 },
  ]);
  t.same(m.uidRanges.map((r) => r.from), [`${opts.subuidFile}:2`, `${opts.subuidFile}:4`, `${opts.subuidFile}:5`]);
  t.same(m.gidMap, [
    { inside: 0, outside: 1600, count: 1 },
    { inside: 1, outside: 200000, count: 65536 },
  ]);
  t.same(m.gidRanges, [{ start: 200000, count: 65536, from: `${opts.subgidFile}:1` }]);
  t.same(m.warnings, []);
});

t.test('the same range listed twice (by name and by UID) is mapped once', async (t) => {
  const m = await computeIdMaps(files(t, 'alice:100000:65536\n1500:100000:65536\nalice:100000:65536\n'));
  t.same(m.uidMap, [
    { inside: 0, outside: 1500, count: 1 },
    { inside: 1, outside: 100000, count: 65536 },
  ]);
  t.equal(m.uidRanges.length, 1);
});

t.test('fewer than 65536 subordinate IDs: a warning, not an error', async (t) => {
  const opts = files(t, 'alice:100000:1000\nalice:200000:2000\n', 'alice:100000:65536\n');
  const m = await computeIdMaps(opts);
  t.same(m.warnings, [`user "alice" (uid 1500) has only 3000 subordinate UIDs; 65536 or more are recommended (${opts.subuidFile})`]);
  const several = await computeIdMaps(files(t, 'alice:100000:30000\nalice:200000:35536\n'));
  t.same(several.warnings, [], '65536 in total over two ranges is enough');
});

t.test('no entry for the user: the error names the files and ends in the usermod command, with a free range', async (t) => {
  const opts = files(t, 'bob:100000:65536\n', 'alice:100000:65536\n');
  await t.rejects(computeIdMaps(opts), {
    name: 'RkError',
    message: `no subordinate UIDs for user "alice" (uid 1500) in ${opts.subuidFile}: sudo usermod --add-subuids 165536-231071 alice`,
  });
  const g = files(t, 'alice:100000:65536\n', '# none\n');
  await t.rejects(computeIdMaps(g), {
    message: `no subordinate GIDs for user "alice" (uid 1500) in ${g.subgidFile}: sudo usermod --add-subgids 165536-231071 alice`,
  });
  const both = files(t, 'bob:100000:65536\ncarol:231072:1000\n', 'dave:165536:10\n');
  await t.rejects(computeIdMaps(both), {
    message: `no subordinate UIDs and GIDs for user "alice" (uid 1500) in ${both.subuidFile} and ${both.subgidFile}: sudo usermod --add-subuids 296608-362143 --add-subgids 296608-362143 alice`,
  }, 'both missing: one command, a range free in both files');
  await t.rejects(computeIdMaps({ ...opts, subuidFile: '/nonexistent/subuid', subgidFile: '/nonexistent/subgid' }), {
    message: 'no subordinate UIDs and GIDs for user "alice" (uid 1500) in /nonexistent/subuid and /nonexistent/subgid: sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 alice',
  });
});

t.test('a malformed line is an error with file:line, even in another user\'s entry', async (t) => {
  const opts = files(t, 'alice:100000:65536\nbob:oops\n');
  await t.rejects(computeIdMaps(opts), { message: `${opts.subuidFile}:2: malformed entry 'bob:oops': expected NAME:START:COUNT` });
});

t.test('overlapping ranges, or one holding the caller\'s own ID, are refused up front', async (t) => {
  const opts = files(t, 'alice:100000:65536\nalice:150000:65536\n');
  await t.rejects(computeIdMaps(opts), { message: new RegExp(`^subordinate UIDs 100000:65536 \\(${opts.subuidFile}:1\\) and 150000:65536 \\(${opts.subuidFile}:2\\) overlap`) });
  await t.rejects(computeIdMaps(files(t, 'alice:1000:65536\n')), { message: /include your own UID 1500/ });
});

t.test('defaults: the current user by name and uid', async (t) => {
  const me = userInfo();
  const d = dir(t);
  writeFileSync(join(d, 'subuid'), `${me.username}:100000:65536\n`);
  writeFileSync(join(d, 'subgid'), `${me.uid}:100000:65536\n`);
  const m = await computeIdMaps({ source: 'static', subuidFile: join(d, 'subuid'), subgidFile: join(d, 'subgid') });
  t.equal(m.user, me.username);
  t.equal(m.uid, process.geteuid!());
  t.equal(m.gid, process.getegid!());
  t.same(m.uidMap[0], { inside: 0, outside: process.geteuid!(), count: 1 });
  t.same(m.gidMap[0], { inside: 0, outside: process.getegid!(), count: 1 });
});

t.test('dynamic: ranges from getsubids USER and getsubids -g USER', async (t) => {
  const bin = fakeGetsubids(t, { uid: '0: alice 100000 65536\n1: alice 300000 1000\n', gid: '0: alice 200000 65536\n' });
  const m = await computeIdMaps({ ...files(t, 'alice:1:1\n'), source: 'dynamic', getsubids: bin });
  t.equal(m.source, 'dynamic');
  t.same(m.uidRanges, [
    { start: 100000, count: 65536, from: 'getsubids' },
    { start: 300000, count: 1000, from: 'getsubids' },
  ]);
  t.same(m.gidMap, [
    { inside: 0, outside: 1600, count: 1 },
    { inside: 1, outside: 200000, count: 65536 },
  ]);
  const auto = await computeIdMaps({ ...files(t, 'alice:1:1\n'), source: 'auto', getsubids: bin });
  t.equal(auto.source, 'dynamic', 'auto asks a getsubids that answers');
});

t.test('auto falls back to the files when getsubids fails, is missing, or lists nothing', async (t) => {
  const failing = fakeGetsubids(t, { uid: '', gid: '', code: 1 });
  const empty = fakeGetsubids(t, { uid: '0: alice 100000 65536\n', gid: '' });
  for (const bin of [failing, empty, '/nonexistent/getsubids']) {
    const notes: string[] = [];
    const m = await computeIdMaps({ ...files(t, 'alice:500000:65536\n'), source: 'auto', getsubids: bin, debug: (s) => notes.push(s) });
    t.equal(m.source, 'static', bin);
    t.same(m.uidMap[1], { inside: 1, outside: 500000, count: 65536 });
    t.match(notes.join('\n'), /getsubids gave no ranges/);
  }
});

t.test('dynamic without fallback: the errors name getsubids', async (t) => {
  const opts = { ...files(t, 'alice:500000:65536\n'), source: 'dynamic' as const };
  await t.rejects(computeIdMaps({ ...opts, getsubids: '/nonexistent/getsubids' }), {
    message: '/nonexistent/getsubids not found (Debian package "uidmap"): sudo apt-get install uidmap (or use --subid-source static)',
  });
  const failing = fakeGetsubids(t, { uid: '', gid: '', code: 1 });
  await t.rejects(computeIdMaps({ ...opts, getsubids: failing }), {
    message: new RegExp(`^no subordinate UIDs for user "alice" \\(uid 1500\\) from getsubids \\(.*Error fetching ranges\\): add a range in the subid service, or use the files: sudo usermod --add-subuids 100000-165535 alice, then --subid-source=static$`),
  });
  const noGid = fakeGetsubids(t, { uid: '0: alice 100000 65536\n', gid: '' });
  await t.rejects(computeIdMaps({ ...opts, getsubids: noGid }), { message: /^no subordinate GIDs for user "alice" \(uid 1500\) from getsubids: .*--add-subgids/ });
});

t.test('getsubids output: fewer than 65536 warns with getsubids as the source', async (t) => {
  const bin = fakeGetsubids(t, { uid: '0: alice 100000 100\n', gid: 'garbage\n0: alice 200000 65536\n' });
  const m = await computeIdMaps({ ...files(t, ''), source: 'dynamic', getsubids: bin });
  t.same(m.warnings, ['user "alice" (uid 1500) has only 100 subordinate UIDs; 65536 or more are recommended (getsubids)']);
  t.same(m.gidRanges, [{ start: 200000, count: 65536, from: 'getsubids' }]);
});

t.test('nsswitch.conf: the subid service libsubid would use', async (t) => {
  const d = dir(t);
  const f = join(d, 'nsswitch.conf');
  writeFileSync(f, 'passwd: files\ngroup: files\n');
  t.equal(subidService(f), undefined);
  writeFileSync(f, 'passwd: files\nsubid:   sss\n');
  t.equal(subidService(f), 'sss');
  t.equal(subidService(join(d, 'missing')), undefined);
});

t.test('formatIdMap: the columns of /proc/PID/uid_map', async (t) => {
  t.equal(
    formatIdMap([
      { inside: 0, outside: 1001, count: 1 },
      { inside: 1, outside: 100000, count: 65536 },
    ]),
    '         0       1001          1\n         1     100000      65536\n',
  );
  t.equal(formatIdMap([]), '');
});
