// What to map for a user: the caller as root (inside 0 → their own ID), then
// each subordinate range in order at inside 1, 1+count1, ... . Ranges come
// from getsubids (dynamic) or /etc/subuid,subgid (static); auto tries the
// former and falls back to the latter (and reads the files directly when
// nsswitch.conf names no other subid service: getsubids would read them too).
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { RkError } from '@rk/cli';
import { runGetsubids, type GetsubidsResult } from './getsubids.js';
import { subidService } from './nsswitch.js';
import { readSubidRanges } from './subid-file.js';
import { missingFromService, missingInFiles } from './missing.js';
import type { ComputeOptions, IdKind, IdMapLine, IdMaps, IdRange, SubidSource } from './types.js';

/** Fewer subordinate IDs than this and common images (with IDs up to 65534) fail to unpack. */
export const RECOMMENDED_COUNT = 65536;
/** The kernel takes at most 340 lines per map; one is the caller's. */
const MAX_RANGES = 339;
const SOURCES: readonly SubidSource[] = ['auto', 'dynamic', 'static'];

const NOUN: Record<IdKind, string> = { uid: 'UIDs', gid: 'GIDs' };

export async function computeIdMaps(opts: ComputeOptions = {}): Promise<IdMaps> {
  const uid = opts.uid ?? process.geteuid!();
  const gid = opts.gid ?? process.getegid!();
  const user = opts.user ?? userNameOf(uid);
  const source = opts.source ?? 'auto';
  if (!SOURCES.includes(source)) throw new RkError(`unknown subid source "${source}": use auto, dynamic or static`, 2);
  const files: Record<IdKind, string> = { uid: opts.subuidFile ?? '/etc/subuid', gid: opts.subgidFile ?? '/etc/subgid' };
  const debug = opts.debug ?? (() => {});

  let ranges: Record<IdKind, IdRange[]> | undefined;
  let used: 'dynamic' | 'static' = 'static';
  const service = source === 'auto' && opts.getsubids === undefined ? subidService() : 'unchecked';
  if (source === 'auto' && (service === undefined || service === 'files')) {
    debug(`no subid service but files in /etc/nsswitch.conf: reading ${files.uid} and ${files.gid} (as getsubids would)`);
  } else if (source !== 'static') {
    const bin = opts.getsubids ?? 'getsubids';
    const [u, g] = await Promise.all([runGetsubids(bin, user, 'uid'), runGetsubids(bin, user, 'gid')]);
    if (u.ok && g.ok && u.ranges.length > 0 && g.ranges.length > 0) {
      ranges = { uid: u.ranges, gid: g.ranges };
      used = 'dynamic';
    } else if (source === 'dynamic') {
      throw dynamicError(user, uid, files, bin, u, g);
    } else {
      debug(`getsubids gave no ranges (${whyNot(u, g)}); reading ${files.uid} and ${files.gid}`);
    }
  }
  if (!ranges) {
    ranges = { uid: readSubidRanges(files.uid, user, uid), gid: readSubidRanges(files.gid, user, uid) };
  }

  const missing = (['uid', 'gid'] as const).filter((k) => ranges[k].length === 0);
  if (missing.length > 0) throw missingInFiles(missing, user, uid, files);
  const warnings: string[] = [];
  const result = {} as Record<IdKind, { map: IdMapLine[]; ranges: IdRange[] }>;
  for (const kind of ['uid', 'gid'] as const) {
    const list = dedupe(ranges[kind]);
    const own = kind === 'uid' ? uid : gid;
    checkRanges(kind, list, own);
    const total = list.reduce((n, r) => n + r.count, 0);
    if (total < RECOMMENDED_COUNT) {
      const label = used === 'static' ? files[kind] : 'getsubids';
      warnings.push(`user "${user}" (uid ${uid}) has only ${total} subordinate ${NOUN[kind]}; ${RECOMMENDED_COUNT} or more are recommended (${label})`);
    }
    result[kind] = { map: buildMap(own, list), ranges: list };
  }
  debug(`${user} (uid ${uid}): ${result.uid.ranges.length} UID range(s), ${result.gid.ranges.length} GID range(s) (${used})`);
  return {
    user,
    uid,
    gid,
    uidMap: result.uid.map,
    gidMap: result.gid.map,
    uidRanges: result.uid.ranges,
    gidRanges: result.gid.ranges,
    warnings,
    source: used,
  };
}

/** inside 0 → own ID; then each range, packed one after the other from inside 1. */
export function buildMap(own: number, ranges: IdRange[]): IdMapLine[] {
  const lines: IdMapLine[] = [{ inside: 0, outside: own, count: 1 }];
  let next = 1;
  for (const r of ranges) {
    lines.push({ inside: next, outside: r.start, count: r.count });
    next += r.count;
  }
  return lines;
}

/** The same range listed twice (in one file, or by name and by UID) is mapped once. */
export function dedupe(ranges: IdRange[]): IdRange[] {
  const seen = new Set<string>();
  return ranges.filter((r) => {
    const key = `${r.start}:${r.count}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The kernel refuses overlapping ranges and more than 340 lines: say so now, naming the entries. */
function checkRanges(kind: IdKind, ranges: IdRange[], own: number): void {
  if (ranges.length > MAX_RANGES) {
    throw new RkError(`${ranges.length} subordinate ${NOUN[kind]} ranges; the kernel takes at most ${MAX_RANGES} besides your own: merge adjacent entries (${ranges[0]!.from})`);
  }
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (b.start < a.start + a.count) {
      throw new RkError(`subordinate ${NOUN[kind]} ${a.start}:${a.count} (${a.from}) and ${b.start}:${b.count} (${b.from}) overlap: remove or shrink one of them`);
    }
  }
  const mine = ranges.find((r) => own >= r.start && own < r.start + r.count);
  if (mine) {
    throw new RkError(`subordinate ${NOUN[kind]} ${mine.start}:${mine.count} (${mine.from}) include your own ${kind.toUpperCase()} ${own}: move the range above it (e.g. start at 100000)`);
  }
}

function dynamicError(user: string, uid: number, files: Record<IdKind, string>, bin: string, u: GetsubidsResult, g: GetsubidsResult): RkError {
  if ((!u.ok && u.missing) || (!g.ok && g.missing)) {
    return new RkError(`${bin} not found (Debian package "uidmap"): sudo apt-get install uidmap (or use --subid-source static)`);
  }
  const kind: IdKind = u.ok && u.ranges.length > 0 ? 'gid' : 'uid';
  const r = kind === 'uid' ? u : g;
  const detail = r.ok ? '' : ` (${r.reason})`;
  return missingFromService(kind, user, uid, detail, files);
}

function whyNot(u: GetsubidsResult, g: GetsubidsResult): string {
  for (const r of [u, g]) if (!r.ok) return r.reason;
  return 'no ranges listed';
}

/** The name of `uid`: ours from the passwd database, else from /etc/passwd, else the number itself. */
function userNameOf(uid: number): string {
  try {
    const me = userInfo();
    if (me.uid === uid) return me.username;
  } catch {
    // no passwd entry for us
  }
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length > 2 && f[2] === String(uid) && f[0]) return f[0];
    }
  } catch {
    // no /etc/passwd
  }
  return String(uid);
}
