// Rootless Docker's overlay networks need /var/lib/docker/network/files
// (fixed in Docker whatever --data-root says). When CMD is
// dockerd-rootless.sh, rootlesskit copies up /var/lib with /var/lib/docker an
// empty directory of the namespace's own, also where a rootful Docker left
// its own /var/lib/docker (root's, 0710: a symlink to it would not do, and
// upstream's --copy-up=/var/lib fails there). Any other CMD: nothing changes.
import t from 'tap';
import { chmodSync, existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { run, tempDir } from './harness.js';

const PROBE = `ls -ld /var/lib/docker | cut -c1-10; ls -A /var/lib/docker | wc -l; mkdir -p /var/lib/docker/network/files && echo writable; [ -L /var/lib/dpkg ] && echo others-linked; true`;

/** A script named dockerd-rootless.sh (the name is what rootlesskit looks at) that prints what it finds. */
function fakeScript(): string {
  const dir = tempDir();
  chmodSync(dir, 0o755);
  const file = `${dir}/dockerd-rootless.sh`;
  writeFileSync(file, `#!/bin/sh\n${PROBE}\n`, { mode: 0o755 });
  return file;
}

t.test('CMD dockerd-rootless.sh: /var/lib/docker writable and empty, the rest of /var/lib as on the host, nothing reaches the host', async (t) => {
  // As on a machine where a rootful Docker has run (made here when absent, removed after).
  const made = !existsSync('/var/lib/docker');
  if (made) {
    mkdirSync('/var/lib/docker', { mode: 0o710 });
    t.teardown(() => rmdirSync('/var/lib/docker'));
  }
  const script = fakeScript();
  const r = run(['rootlesskit', '--debug', '--copy-up=/etc', '--copy-up=/run', script]);
  t.equal(r.code, 0, r.code === 0 ? 'exit 0' : r.stderr.slice(-800));
  t.same(r.stdout.split('\n').slice(0, 4), ['drwx--x--x', '0', 'writable', 'others-linked'], 'an empty directory of its own; the other entries still lead to the host\'s');
  t.match(r.stderr, /debug: CMD is dockerd-rootless\.sh: \/var\/lib copied up, \/var\/lib\/docker an empty directory of the namespace's own/);
  t.notOk(existsSync('/var/lib/docker/network'), 'nothing made on the host');

  const ref = run(['/usr/bin/rootlesskit', '--copy-up=/etc', '--copy-up=/var/lib', 'sh', '-c', PROBE]);
  t.notMatch(ref.stdout, /writable/, `upstream with --copy-up=/var/lib: /var/lib/docker not writable (${ref.stdout.trim().replace(/\n/g, ' | ')})`);
});

t.test('--copy-up=/var/lib given by the user with dockerd-rootless.sh: the same, once', async (t) => {
  const r = run(['rootlesskit', '--debug', '--copy-up=/var/lib/', fakeScript()]);
  t.equal(r.code, 0, r.code === 0 ? 'exit 0' : r.stderr.slice(-800));
  t.match(r.stdout, /^drwx--x--x\n0\nwritable\n/);
  t.match(r.stderr, /debug: CMD is dockerd-rootless\.sh: \/var\/lib\/docker an empty directory/);
});

t.test('any other CMD: /var/lib untouched', async (t) => {
  const r = run(['rootlesskit', '--debug', 'sh', '-c', 'mkdir /var/lib/rk-probe 2>/dev/null && echo writable || echo read-only']);
  t.equal(r.code, 0, r.code === 0 ? 'exit 0' : r.stderr.slice(-800));
  t.equal(r.stdout, 'read-only\n');
  t.notMatch(r.stderr, /dockerd-rootless/);
});

t.test('--copy-up-mode=auto with dockerd-rootless.sh: /var/lib an overlay, /var/lib/docker still empty and writable', async (t) => {
  const made = !existsSync('/var/lib/docker');
  if (made) {
    mkdirSync('/var/lib/docker', { mode: 0o710 });
    t.teardown(() => rmdirSync('/var/lib/docker'));
  }
  const o = run(['rootlesskit', '--copy-up-mode=auto', '--copy-up=/etc', fakeScript()]);
  t.equal(o.code, 0, o.stderr.slice(-800));
  t.match(o.stdout, /^drwx--x--x\n0\nwritable\n$/, 'others are no longer symlinks (overlay), /var/lib/docker empty and writable');
});
