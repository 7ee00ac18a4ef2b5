// Bash completion (completion/rootlesskit-ts.bash): generated from the flag
// tables (so it is never stale) and completing what a user types.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './harness.js';

const script = join(repoRoot, 'completion', 'rootlesskit-ts.bash');

/** What completing the last word of `words` offers. */
function complete(...words: string[]): string[] {
  const bash = `source ${script}; compopt() { :; }; COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _rk_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['-c', bash, 'bash', ...words], { encoding: 'utf8', cwd: repoRoot });
  return r.stdout.split('\n').filter(Boolean);
}

t.test('the committed completion is what the flag tables give', async (t) => {
  const r = spawnSync(process.execPath, [join(repoRoot, 'hack', 'completion.mjs'), '--check'], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
});

t.test('flags, flag values, commands and PIDs', async (t) => {
  t.same(complete('rootlesskit', '--ne'), ['--net=']);
  t.same(complete('rootlesskit', '--net', '=', 'sl'), ['slirp4netns']);
  t.same(complete('rootlesskit', '--net', 'bu'), ['builtin']);
  t.same(complete('rk-unshare', '--propagation', 'rs').sort(), ['rshared', 'rslave']);
  t.same(complete('rk-idmap', '--subid-source', '=', 'd'), ['dynamic']);
  t.ok(complete('rk-net', '--net=builtin', '--st').includes('--state-dir='));
  t.ok(complete('rootlesskit', '--copy-up=/etc', 'ech').includes('echo'), 'CMD is completed as a command');
  t.same(complete('rootlesskit', 'sh', '--no-such-flag'), [], 'after CMD, words are CMD\'s own');
  t.ok(complete('rootlesskit', '--state-dir', '/tm').includes('/tmp'), 'directories for --state-dir');
  const pids = complete('rk-idmap', '');
  t.ok(pids.length > 0 && pids.every((p) => /^\d+$/.test(p.trim())), 'rk-idmap completes PIDs');
});
