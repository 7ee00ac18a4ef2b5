// --copy-up-mode overlayfs / auto (rk-copyup --mode, rootlesskit --copy-up-mode)
// as the unprivileged user, on a tree laid out like openSUSE's /etc/ssl
// (etc/ssl/certs a relative symlink out of the copied-up dir): in overlayfs
// mode it resolves as on the host, in tmpfs+symlink it shows upstream's
// known breakage; writes never reach the host; refusals are clear.
import t from 'tap';
import { chmodSync, existsSync, linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { run } from './harness.js';

const NS = ['rk-unshare', '--user', '--map-root', '--mount', '--'];

/** T/etc (to copy up) and T/var/lib/ca-certificates (outside it), root's, readable by all, as on a host. */
function suseTree(): string {
  const root = mkdtempSync('/tmp/rk-suse-');
  chmodSync(root, 0o755);
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(`${root}/var/lib/ca-certificates/pem`, { recursive: true });
  writeFileSync(`${root}/var/lib/ca-certificates/pem/ca.pem`, 'CERT\n');
  mkdirSync(`${root}/etc/ssl`, { recursive: true });
  symlinkSync('../../var/lib/ca-certificates/pem', `${root}/etc/ssl/certs`); // relative, out of etc
  symlinkSync('ssl/certs/ca.pem', `${root}/etc/ca-link`); // relative, inside
  symlinkSync('no-such-file', `${root}/etc/dangling`);
  symlinkSync('ssl', `${root}/etc/ssl-dir`); // a directory symlink
  writeFileSync(`${root}/etc/hard1`, 'HARD\n');
  linkSync(`${root}/etc/hard1`, `${root}/etc/hard2`);
  execFileSync('mkfifo', [`${root}/etc/fifo`]);
  execFileSync('python3', ['-c', `import os, socket; socket.socket(socket.AF_UNIX).bind('${root}/etc/sock'); os.setxattr('${root}/etc/hard1', 'user.rk', b'xa')`]);
  return root;
}

const PROBE = (e: string) =>
  `cat ${e}/ssl/certs/ca.pem ${e}/ca-link ${e}/ssl-dir/certs/ca.pem ${e}/hard2 2>&1; readlink ${e}/dangling; [ -p ${e}/fifo ] && echo fifo; stat -c %h ${e}/hard1; [ -S ${e}/sock ] && echo sock; python3 -c "import os; print(os.getxattr('${e}/hard1', 'user.rk').decode())"; echo new > ${e}/new && cat ${e}/new`;

t.test('openSUSE layout: overlayfs resolves every entry as on the host; tmpfs+symlink breaks the relative link', async (t) => {
  const root = suseTree();
  const e = `${root}/etc`;
  const want = 'CERT\nCERT\nCERT\nHARD\nno-such-file\nfifo\n2\nsock\nxa\nnew\n';
  const host = run(['sh', '-c', PROBE(e).replace(/; echo new.*$/, '; echo new')]);
  t.equal(host.stdout, want, 'the host view');
  const ov = run([...NS, 'rk-copyup', '--mode', 'overlayfs', '--copy-up', e, '--', 'sh', '-c', PROBE(e)]);
  t.equal(ov.code, 0, ov.stderr);
  t.equal(ov.stdout, want, 'overlayfs: the same inside, and writable');
  const sym = run([...NS, 'rk-copyup', '--copy-up', e, '--', 'sh', '-c', `cat ${e}/ssl/certs/ca.pem`]);
  t.not(sym.code, 0, 'tmpfs+symlink: etc/ssl/certs/ca.pem does not resolve (upstream\'s known breakage)');
  t.notOk(existsSync(`${e}/new`), 'nothing written reaches the host');
});

t.test('overlayfs: deletions, renames, and mounts below the dir (made in the namespace) put back on top', async (t) => {
  const root = suseTree();
  const e = `${root}/etc`;
  mkdirSync(`${e}/user/1000`, { recursive: true });
  const script = `mount -t tmpfs none ${e}/user/1000 && echo sub > ${e}/user/1000/f && exec rk-copyup --mode overlayfs --copy-up ${e} -- sh -c 'cat ${e}/user/1000/f; rm ${e}/hard1 && echo N > ${e}/n1 && mv ${e}/n1 ${e}/n2 && cat ${e}/n2; ls ${e}/hard1 2>/dev/null || echo gone; findmnt -no FSTYPE ${e}'`;
  const r = run([...NS, 'sh', '-c', script]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'sub\nN\ngone\noverlay\n');
  t.ok(existsSync(`${e}/hard1`) && existsSync(`${e}/hard2`), 'the host tree is unchanged');
});

t.test('refused overlay (a lower with mounts from outside the namespace): overlayfs fails clearly, auto falls back with a debug line', async (t) => {
  const root = suseTree();
  const e = `${root}/etc`;
  mkdirSync(`${e}/user/1000`, { recursive: true });
  // the mount is made in an outer namespace: in the inner one it is locked, as the host's /run/user/UID is
  const inner = (mode: string) =>
    `mount -t tmpfs none ${e}/user/1000 && exec rk-unshare --user --map-root --mount -- rk-copyup --debug --mode ${mode} --copy-up ${e} -- sh -c 'echo x > ${e}/x && findmnt -no FSTYPE ${e}'`;
  const ov = run([...NS, 'sh', '-c', inner('overlayfs')]);
  t.equal(ov.code, 1);
  t.match(ov.stderr, /rk-copyup: error: step \d+\/\d+: --copy-up .*: mount an overlay on .* failed: EINVAL .*the kernel refused the overlay .*use --copy-up-mode=auto/);
  t.equal(ov.stdout, '');
  const auto = run([...NS, 'sh', '-c', inner('auto')]);
  t.equal(auto.code, 0, auto.stderr);
  t.equal(auto.stdout, 'tmpfs\n');
  t.match(auto.stderr, /debug: --copy-up-mode=auto: .*\/etc: tmpfs\+symlink \(the kernel refused the overlay\)/);
});

t.test('--copy-up=/ is refused in every mode; rootlesskit reports the mode in rootlessctl info', async (t) => {
  for (const mode of ['overlayfs', 'auto']) {
    const r = run([...NS, 'rk-copyup', '--mode', mode, '--copy-up', '/', '--', 'true']);
    t.equal(r.code, 2);
    t.match(r.stderr, /the root directory cannot be copied up/);
  }
  const r = run(['rootlesskit', '--copy-up=/etc', '--copy-up=/run', '--copy-up-mode=auto', 'sh', '-c', 'rootlessctl info']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /- Copy-up Driver: auto\n  - \/etc: overlayfs\n  - \/run: (overlayfs|tmpfs\+symlink)\n/);
});
