// /etc/subuid and /etc/subgid: lines of NAME:START:COUNT, where NAME is a user
// name or a numeric UID (in both files: newgidmap matches the caller's UID too).
import { readFileSync } from 'node:fs';
import { RkError } from '@rk/cli';
import type { IdRange } from './types.js';

export interface SubidEntry {
  owner: string;
  start: number;
  count: number;
  /** 1-based line number */
  line: number;
}

const MAX_ID = 2 ** 32 - 1;
const DECIMAL = /^\d+$/;

/** Parses a subuid/subgid file; blank lines and '#' comments are skipped, anything else malformed is an error. */
export function parseSubidFile(text: string, file: string): SubidEntry[] {
  const entries: SubidEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, '');
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const fields = trimmed.split(':');
    const [owner, start, count] = fields;
    const ok =
      fields.length === 3 &&
      owner !== '' &&
      DECIMAL.test(start!) &&
      DECIMAL.test(count!) &&
      Number(count) > 0 &&
      Number(start) + Number(count) - 1 <= MAX_ID;
    if (!ok) {
      throw new RkError(`${file}:${i + 1}: malformed entry '${trimmed.slice(0, 80)}': expected NAME:START:COUNT`);
    }
    entries.push({ owner: owner!, start: Number(start), count: Number(count), line: i + 1 });
  }
  return entries;
}

/** The ranges of `user` (by name) or `uid` (by number) in `file`, in file order; a missing file has none. */
export function readSubidRanges(file: string, user: string, uid: number): IdRange[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    throw new RkError(`cannot read ${file} (${code}): make it readable by all users (sudo chmod 644 ${file})`);
  }
  return parseSubidFile(text, file)
    .filter((e) => e.owner === user || e.owner === String(uid))
    .map((e) => ({ start: e.start, count: e.count, from: `${file}:${e.line}` }));
}
