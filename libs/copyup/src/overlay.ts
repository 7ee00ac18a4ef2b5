// overlayfs copy-up of one directory D, as plan steps:
//   cloneTree D -> slot 0                  (open_tree: a detached copy of D's mount tree)
//   overlay slot 0 -> D                    (lower: that tree; upper/work: a private tmpfs)
//   cloneFrom slot 0 REL -> slot 1         (for each mount below D: the overlay does not
//   moveTree slot 1 -> D/REL                show its lower layer's mounts, so they go on top)
//   mkdir D/E, or a tmpfs on D/E           (for each of emptyDirs below D)
// Every entry keeps its type and place, so relative symlinks resolve as on
// the host; new files, deletions and renames land on the tmpfs only.
// With `fallback` (mode auto), a refused overlay runs tmpfs+symlink steps for
// D instead (the overlay step skips to them; the overlay branch ends with a
// skip over them).
import { lstatSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { PlanBuilder } from './builder.js';
import { tmpfsSymlinkSteps } from './tmpfs-symlink.js';
import type { CopyUpDir } from './validate.js';

export function overlaySteps(b: PlanBuilder, dir: CopyUpDir, submounts: string[], emptyDirs: string[], fallback: boolean): void {
  const d = dir.path;
  const what = dir.given === d ? `--copy-up ${d}` : `--copy-up ${dir.given} (${d})`;
  const mode = statSync(d).mode & 0o7777;
  const ok = new PlanBuilder();
  for (const rel of submounts) {
    const at = join(d, rel);
    ok.add({ op: 'cloneFrom', from: 0, path: rel, slot: 1 }, `${what}: take the mount at ${at} from the original tree (open_tree)`);
    ok.add({ op: 'moveTree', slot: 1, target: at }, `${what}: attach it again at ${at}, on top of the overlay (move_mount)`);
  }
  for (const name of emptyDirs.filter((p) => dirname(p) === d).map((p) => basename(p))) emptyDirSteps(ok, join(d, name), what);
  let alt: PlanBuilder | undefined;
  if (fallback) {
    alt = new PlanBuilder();
    tmpfsSymlinkSteps(alt, dir, emptyDirs);
  }
  const mounts = submounts.length === 0 ? '' : `, ${submounts.length} mount${submounts.length === 1 ? '' : 's'} below it`;
  b.add({ op: 'cloneTree', path: d, slot: 0 }, `${what}: take a detached copy of the mount tree at ${d} (open_tree)`);
  b.add(
    { op: 'overlay', slot: 0, target: d, mode, ...(alt ? { elseSkip: ok.steps.length + 1 } : {}) },
    `${what}: mount an overlay on ${d} (lower: the original tree${mounts}; upper: a private tmpfs)${alt ? '; if the kernel refuses it, tmpfs+symlink' : ''}`,
  );
  b.append(ok);
  if (alt) {
    b.add({ op: 'skip', count: alt.steps.length }, `${what}: the overlay is up: skip the tmpfs+symlink alternative`);
    b.append(alt);
  }
}

/** E: an empty directory of the namespace's own, the original (if any) hidden. */
function emptyDirSteps(b: PlanBuilder, path: string, what: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    st = undefined;
  }
  if (st?.isDirectory()) {
    // a host directory cannot be emptied (its entries belong to users the
    // namespace does not map): a tmpfs covers it
    b.add({ op: 'mount', source: 'none', target: path, fstype: 'tmpfs', data: 'mode=0711' }, `${what}: mount an empty tmpfs on ${path} (the original hidden)`);
    return;
  }
  if (st) b.add({ op: 'unlink', path }, `${what}: remove ${path} on the overlay (the original stays on the host)`);
  b.add({ op: 'mkdir', path, mode: 0o711 }, `${what}: create ${path}, empty, on the overlay`);
}
