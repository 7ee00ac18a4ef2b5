// Upstream's own port test (hack/integration-port.sh of a rootlesskit source
// checkout), run unchanged with our rootlesskit first on PATH: builtin and
// slirp4netns port drivers, tcp/tcp4/tcp6 listening and v4<->v6 forwarding,
// checked with curl against busybox httpd. The script is not ours to copy
// into this repo: point RK_UPSTREAM_SRC at a checkout (default
// /work/ref/rootlesskit); without one the test is skipped.
import t from 'tap';
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { run, tempDir } from './harness.js';

const src = process.env.RK_UPSTREAM_SRC ?? '/work/ref/rootlesskit';
const script = join(src, 'hack', 'integration-port.sh');
const skip = !existsSync(script)
  ? `no upstream checkout at ${src} (set RK_UPSTREAM_SRC)`
  : !existsSync('/usr/bin/busybox') || !existsSync('/usr/bin/curl')
    ? 'needs busybox and curl (hack/setup.sh)'
    : false;

t.test("upstream's hack/integration-port.sh passes with our rootlesskit", { skip }, async (t) => {
  const dir = tempDir('rk-upstream-port-');
  t.teardown(() => {
    run(['rm', '-rf', dir]);
  });
  // a copy the test user can read and run (the checkout may sit under a 0700 dir)
  const copy = join('/tmp', `rk-upstream-hack-${process.pid}`);
  cpSync(join(src, 'hack'), copy, { recursive: true });
  t.teardown(() => rmSync(copy, { recursive: true, force: true }));
  const r = run(['bash', join(copy, 'integration-port.sh')], { timeout: 300_000, cwd: dir });
  const out = (r.stdout + r.stderr).replace(/\x1b\[[0-9;]*m/g, '');
  t.equal(r.code, 0, r.code === 0 ? 'exit 0' : out.split('\n').filter((l) => /ERROR|error|curl/.test(l)).slice(-10).join('\n'));
  t.match(out, /===== PASSING =====/);
  const cases = (readFileSync(script, 'utf8').match(/^test_port /gm) ?? []).length;
  t.equal((out.match(/Test pasing/g) ?? []).length, cases, `all ${cases} cases ran`);
});
