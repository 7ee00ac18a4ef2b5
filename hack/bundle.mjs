// Bundles one app (apps/<name>/src/main.ts and the libs it imports) into a
// single CommonJS file, apps/<name>/dist/<name>.cjs: one file to load at start
// instead of dozens of ES modules, and Node's CommonJS loader is lighter than
// its ES module loader (module loading dominates Node's start-up cost here).
// Lazily imported modules (the full yargs parser, the API server) stay lazy:
// they are evaluated only when first imported. The native addon stays a
// separate .node file. yargs (~230 KB, ESM-only) is bundled on its own into
// dist/yargs.cjs and required only when the full parser runs (--help, errors),
// so its compile cost stays off the common path. Last, a V8 code cache of the
// bundle is written beside it.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const app = process.argv[2];
if (!app) {
  console.error('usage: node hack/bundle.mjs APP');
  process.exit(2);
}
const outfile = join(root, 'apps', app, 'dist', `${app}.cjs`);
rmSync(outfile, { force: true });
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  define: { 'import.meta.url': '__rkImportMetaUrl' },
  banner: { js: "const __rkImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
};
await build({
  ...common,
  stdin: { contents: "module.exports = require('yargs').default;", resolveDir: root, loader: 'js' },
  outfile: join(root, 'apps', app, 'dist', 'yargs.cjs'),
});
const yargsApart = {
  name: 'yargs-apart',
  setup(b) {
    b.onResolve({ filter: /^yargs$/ }, () => ({ path: './yargs.cjs', external: true }));
  },
};
// Class fields are lowered to assignments in the constructor: with V8's code
// cache (Node 20), a lazily compiled method of a class that has field
// initializers can fail to parse ("SyntaxError: Unexpected identifier") once
// the cache is used.
await build({
  supported: { 'class-field': false },
  plugins: [yargsApart],
  entryPoints: [join(root, 'apps', app, 'src', 'main.ts')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  outfile,
  logLevel: 'warning',
  define: { 'import.meta.url': '__rkImportMetaUrl' },
  banner: { js: "const __rkImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
});

// The V8 code cache of the bundle (see libs/cli/loader.cjs), from a run that
// parses flags and exits.
const flag = app === 'rootlesskit' ? '--print-semver' : '--version';
const r = spawnSync(process.execPath, [join(root, 'apps', app, 'bin', `${app}.cjs`), flag], {
  env: { ...process.env, RK_WRITE_CODE_CACHE: '1' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (r.status !== 0) {
  console.error(`bundle: writing the code cache of ${app} failed (status ${r.status})`);
  process.exit(1);
}
