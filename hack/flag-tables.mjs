// The commands' flag tables (apps/*/src/flags.ts: FLAGS, and for commands with
// subcommands SUBCOMMANDS), loaded from the TypeScript sources: the one place
// --help, the bash completion (hack/completion.mjs) and the option tables of
// docs/commands/*.md (hack/docs-options.mjs) come from.
import { build } from 'esbuild';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Loads a TS module's exports by bundling it in memory. */
export async function load(file) {
  const r = await build({ entryPoints: [file], bundle: true, platform: 'node', format: 'cjs', write: false, logLevel: 'error', external: ['yargs', 'yargs-parser'] });
  const mod = { exports: {} };
  new Function('module', 'exports', 'require', r.outputFiles[0].text)(mod, mod.exports, createRequire(file));
  return mod.exports;
}

/** [app, exports of its flags.ts] for each app that has a flag table, by name. */
export async function flagTables() {
  const out = [];
  for (const app of readdirSync(join(root, 'apps')).sort()) {
    const file = join(root, 'apps', app, 'src', 'flags.ts');
    if (!existsSync(file)) continue;
    const m = await load(file);
    if (m.FLAGS) out.push([app, m]);
  }
  return out;
}
