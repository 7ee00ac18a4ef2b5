// The docs stay true to the code: each command's page has its option tables
// as the flag tables give them (hack/docs-options.mjs --check), and every
// relative link in the README and docs/ leads to a file (and heading) that
// exists.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { repoRoot } from './harness.js';

t.test('the option tables of docs/commands/*.md are what the flag tables give', async (t) => {
  const r = spawnSync(process.execPath, [join(repoRoot, 'hack', 'docs-options.mjs'), '--check'], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
});

t.test('every command has a page with its exit status and examples', async (t) => {
  for (const app of readdirSync(join(repoRoot, 'apps'))) {
    if (!existsSync(join(repoRoot, 'apps', app, 'package.json'))) continue;
    const page = join(repoRoot, 'docs', 'commands', `${app}.md`);
    t.ok(existsSync(page), `docs/commands/${app}.md`);
    if (!existsSync(page)) continue;
    const text = readFileSync(page, 'utf8');
    for (const h of ['## Synopsis', '## Options', '## Exit status', '## Examples']) t.match(text, `\n${h}\n`, `${app}: ${h}`);
  }
});

function markdownFiles(): string[] {
  const out = [join(repoRoot, 'README.md')];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.md')) out.push(p);
    }
  };
  walk(join(repoRoot, 'docs'));
  return out;
}

/** GitHub's anchor for a heading. */
const slug = (h: string) => h.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');

function anchors(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#+ (.*)$/gm)].map((m) => slug(m[1]!)));
}

t.test('relative links in README.md and docs/ resolve', async (t) => {
  for (const file of markdownFiles()) {
    const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const link = m[1]!;
      if (/^[a-z]+:/.test(link)) continue;
      const [path, anchor] = link.split('#') as [string, string | undefined];
      const target = path === '' ? file : join(dirname(file), path);
      const where = `${relative(repoRoot, file)}: ${link}`;
      if (!existsSync(target)) {
        t.fail(`${where}: no such file`);
        continue;
      }
      if (anchor && target.endsWith('.md')) t.ok(anchors(target).has(anchor), `${where}: heading #${anchor}`);
      else t.pass(where);
    }
  }
});
