// tmpfs+symlink copy-up of one directory D, as plan steps:
//   mkdir  TMP/rootlesskit-b<rand>           (staging point, host-visible briefly)
//   mount  --rbind D TMP/rootlesskit-b<rand> (keep the original tree)
//   mount  tmpfs on D                        (D becomes writable, empty)
//   mkdir  D/.ro<rand>
//   mount  --move TMP/rootlesskit-b<rand> D/.ro<rand>
//   symlink D/<name> -> .ro<rand>/<name>     (for each entry; symlinks keep their own target)
//   rmdir  TMP/rootlesskit-b<rand>
// Everything is read (readdir, readlink, stat) now, so the steps can run in a
// child before exec with no decisions left.
import { readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RkError } from '@rk/cli';
import { constants } from '@rk/native';
import type { PlanBuilder } from './builder.js';
import { randomSuffix } from '@rk/cli';
import type { CopyUpDir } from './validate.js';

export const STAGING_PREFIX = 'rootlesskit-b';
export const RO_PREFIX = '.ro';

interface Entry {
  name: string;
  /** readlink of the entry when it is a symlink. */
  link?: string;
}

export function tmpfsSymlinkSteps(b: PlanBuilder, dir: CopyUpDir, tmpRoot: string): void {
  const d = dir.path;
  const what = dir.given === d ? `--copy-up ${d}` : `--copy-up ${dir.given} (${d})`;
  const entries = listEntries(dir);
  const names = new Set(entries.map((e) => e.name));
  let ro: string;
  do ro = `${RO_PREFIX}${randomSuffix()}`;
  while (names.has(ro));
  const staging = join(tmpRoot, `${STAGING_PREFIX}${randomSuffix()}`);
  const roPath = join(d, ro);
  const mode = statSync(d).mode & 0o7777;

  b.cleanup.push(staging);
  b.add({ op: 'mkdir', path: staging, mode: 0o700 }, `${what}: create the staging dir ${staging}`);
  b.add(
    { op: 'mount', source: d, target: staging, flags: constants.MS_BIND | constants.MS_REC },
    `${what}: bind-mount ${d} (recursively) onto ${staging}`,
  );
  b.add(
    { op: 'mount', source: 'none', target: d, fstype: 'tmpfs', data: `mode=${mode.toString(8).padStart(4, '0')}` },
    `${what}: mount a tmpfs on ${d}`,
  );
  b.add({ op: 'mkdir', path: roPath, mode: 0o755 }, `${what}: create ${roPath} on the tmpfs`);
  b.add(
    { op: 'mount', source: staging, target: roPath, flags: constants.MS_MOVE },
    `${what}: move the original tree from ${staging} to ${roPath}`,
  );
  for (const e of entries) {
    const target = e.link ?? `${ro}/${e.name}`;
    b.add({ op: 'symlink', target, path: join(d, e.name) }, `${what}: symlink ${join(d, e.name)} -> ${target}`);
  }
  b.add({ op: 'rmdir', path: staging }, `${what}: remove the staging dir ${staging}`);
}

function listEntries(dir: CopyUpDir): Entry[] {
  try {
    return readdirSync(dir.path, { withFileTypes: true })
      .map((de) => (de.isSymbolicLink() ? { name: de.name, link: readlinkSync(join(dir.path, de.name)) } : { name: de.name }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new RkError(`--copy-up ${dir.given}: cannot list ${err.path ?? dir.path}: ${err.code ?? err.message} (copy-up needs a readable directory)`, 1);
  }
}
