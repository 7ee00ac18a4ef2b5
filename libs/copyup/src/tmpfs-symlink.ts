// tmpfs+symlink copy-up of one directory D, as plan steps:
//   cloneTree D -> slot 0                    (open_tree: a detached copy of D's mount tree)
//   mount  tmpfs on D                        (D becomes writable, empty)
//   mkdir  D/.ro<rand>
//   moveTree slot 0 -> D/.ro<rand>           (move_mount: the original tree, reattached)
//   symlink D/<name> -> .ro<rand>/<name>     (for each entry; symlinks keep their own target)
//   mkdir  D/<name>                          (for each of emptyDirs below D, instead of its symlink)
// The original tree is never visible outside D: nothing is staged in /tmp or
// any other shared directory, so nothing has to be cleaned up by path (a
// failed plan just closes the detached tree's fd). Everything is read
// (readdir, readlink, stat) now, so the steps can run in a child before exec
// with no decisions left.
import { readdirSync, readlinkSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { RkError } from '@rk/cli';
import { constants } from '@rk/native';
import type { PlanBuilder } from './builder.js';
import { randomSuffix } from '@rk/cli';
import type { CopyUpDir } from './validate.js';

export const RO_PREFIX = '.ro';

interface Entry {
  name: string;
  /** readlink of the entry when it is a symlink. */
  link?: string;
}

export function tmpfsSymlinkSteps(b: PlanBuilder, dir: CopyUpDir, emptyDirs: string[] = []): void {
  const d = dir.path;
  const empty = new Set(emptyDirs.filter((p) => dirname(p) === d).map((p) => basename(p)));
  const what = dir.given === d ? `--copy-up ${d}` : `--copy-up ${dir.given} (${d})`;
  const entries = listEntries(dir);
  const names = new Set(entries.map((e) => e.name));
  let ro: string;
  do ro = `${RO_PREFIX}${randomSuffix()}`;
  while (names.has(ro));
  const roPath = join(d, ro);
  const mode = statSync(d).mode & 0o7777;

  b.add({ op: 'cloneTree', path: d, slot: 0 }, `${what}: take a detached copy of the mount tree at ${d} (open_tree)`);
  b.add(
    { op: 'mount', source: 'none', target: d, fstype: 'tmpfs', data: `mode=${mode.toString(8).padStart(4, '0')}` },
    `${what}: mount a tmpfs on ${d}`,
  );
  b.add({ op: 'mkdir', path: roPath, mode: 0o755 }, `${what}: create ${roPath} on the tmpfs`);
  b.add({ op: 'moveTree', slot: 0, target: roPath }, `${what}: attach the original tree at ${roPath} (move_mount)`);
  for (const e of entries) {
    if (empty.has(e.name)) continue;
    const target = e.link ?? `${ro}/${e.name}`;
    b.add({ op: 'symlink', target, path: join(d, e.name) }, `${what}: symlink ${join(d, e.name)} -> ${target}`);
  }
  for (const name of empty) {
    b.add({ op: 'mkdir', path: join(d, name), mode: 0o711 }, `${what}: create ${join(d, name)}, empty, on the tmpfs (the original, if any, hidden)`);
  }
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
