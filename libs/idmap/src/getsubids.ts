// getsubids (from shadow, Debian package "uidmap") asks the subid NSS source
// (files, sss, ...) for a user's ranges: "getsubids USER" for UIDs, "getsubids -g
// USER" for GIDs. Each range is printed as "INDEX: OWNER START COUNT".
import { runProgram } from '@rk/native';
import type { IdKind, IdRange } from './types.js';

const LINE = /^\d+:\s+(\S+)\s+(\d+)\s+(\d+)\s*$/;

/** Ranges in getsubids output; lines that do not look like a range are ignored. */
export function parseGetsubids(output: string): IdRange[] {
  const ranges: IdRange[] = [];
  for (const line of output.split('\n')) {
    const m = LINE.exec(line.trim());
    if (!m) continue;
    const count = Number(m[3]);
    if (count > 0) ranges.push({ start: Number(m[2]), count, from: 'getsubids' });
  }
  return ranges;
}

export type GetsubidsResult =
  | { ok: true; ranges: IdRange[] }
  /** missing: the binary was not found; otherwise it failed (getsubids exits 1 when the user has no ranges) */
  | { ok: false; missing: boolean; reason: string };

/** Runs getsubids for `user`'s UIDs or GIDs. Never throws. */
export function runGetsubids(bin: string, user: string, kind: IdKind): Promise<GetsubidsResult> {
  const args = kind === 'gid' ? ['-g', user] : [user];
  return runProgram(bin, [bin, ...args]).then((r) => {
    if (r.error) {
      if (r.error.code === 'ENOENT') return { ok: false, missing: true, reason: `${bin} not found` };
      return { ok: false, missing: false, reason: `${bin}: ${r.error.message}` };
    }
    if (r.code !== 0) {
      const said = r.output.trim().split('\n').filter(Boolean).join('; ');
      const status = r.code !== undefined ? `exit status ${r.code}` : `killed by signal ${r.signal}`;
      return { ok: false, missing: false, reason: `${[bin, ...args].join(' ')}: ${said || status}` };
    }
    return { ok: true, ranges: parseGetsubids(r.output) };
  });
}
