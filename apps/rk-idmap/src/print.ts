// --print: what would be mapped, and where each range comes from.
import { formatIdMap, type IdMapLine, type IdMaps } from '@rk/idmap';

function lines(map: IdMapLine[], from: string[]): string {
  return map.map((l, i) => `${formatIdMap([l]).trimEnd()}   (${from[i]})\n`).join('');
}

export function printMaps(m: IdMaps): string {
  return (
    `uid_map for ${m.user} (uid ${m.uid}), source ${m.source}:\n` +
    lines(m.uidMap, ['caller', ...m.uidRanges.map((r) => r.from)]) +
    `gid_map for ${m.user} (gid ${m.gid}), source ${m.source}:\n` +
    lines(m.gidMap, ['caller', ...m.gidRanges.map((r) => r.from)])
  );
}

export interface RootOnlyMaps {
  user: string;
  uid: number;
  gid: number;
  uidMap: IdMapLine[];
  gidMap: IdMapLine[];
  setgroups: 'deny';
}

export function rootOnlyMaps(user: string, uid: number, gid: number): RootOnlyMaps {
  return { user, uid, gid, uidMap: [{ inside: 0, outside: uid, count: 1 }], gidMap: [{ inside: 0, outside: gid, count: 1 }], setgroups: 'deny' };
}

export function printRootOnly(m: RootOnlyMaps): string {
  return (
    `uid_map for ${m.user} (uid ${m.uid}), map-root:\n` +
    lines(m.uidMap, ['caller']) +
    `gid_map for ${m.user} (gid ${m.gid}), map-root:\n` +
    lines(m.gidMap, ['caller']) +
    `setgroups: deny\n`
  );
}
