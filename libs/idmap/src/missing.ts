// The error for a user with no subordinate IDs: one line that ends in the one
// command that fixes it, with a range no other entry of /etc/subuid or
// /etc/subgid uses (usermod does not check for overlaps).
import { readFileSync } from 'node:fs';
import { RkError } from '@rk/cli';
import { parseSubidFile } from './subid-file.js';
import type { IdKind } from './types.js';

const COUNT = 65536;
const FIRST = 100000;
const MAX_ID = 2 ** 32 - 1;
const NOUN: Record<IdKind, string> = { uid: 'UIDs', gid: 'GIDs' };
const USERMOD_FLAG: Record<IdKind, string> = { uid: '--add-subuids', gid: '--add-subgids' };

/** All ranges any entry of these files uses (unreadable or malformed files count as empty). */
function usedRanges(files: string[]): Array<[number, number]> {
  const used: Array<[number, number]> = [];
  for (const file of files) {
    try {
      for (const e of parseSubidFile(readFileSync(file, 'utf8'), file)) used.push([e.start, e.start + e.count - 1]);
    } catch {
      // nothing known to avoid in this file
    }
  }
  return used;
}

/** The first START-END of 65536 IDs, from 100000 on in steps of 65536, that no entry of `files` overlaps. */
export function freeRange(files: string[]): string {
  const used = usedRanges(files);
  for (let start = FIRST; start + COUNT - 1 <= MAX_ID; start += COUNT) {
    const end = start + COUNT - 1;
    if (!used.some(([a, b]) => a <= end && start <= b)) return `${start}-${end}`;
  }
  return `${FIRST}-${FIRST + COUNT - 1}`;
}

/** `sudo usermod --add-subuids R --add-subgids R USER` for the kinds missing. */
export function usermodCommand(kinds: IdKind[], user: string, files: Record<IdKind, string>): string {
  const range = freeRange([files.uid, files.gid]);
  return `sudo usermod ${kinds.map((k) => `${USERMOD_FLAG[k]} ${range}`).join(' ')} ${user}`;
}

/**
 * No subordinate IDs of `kinds` for `user` in the files, e.g.
 * `no subordinate UIDs and GIDs for user "bob" (uid 1002) in /etc/subuid and /etc/subgid: sudo usermod ...`.
 */
export function missingInFiles(kinds: IdKind[], user: string, uid: number, files: Record<IdKind, string>): RkError {
  const what = kinds.map((k) => NOUN[k]).join(' and ');
  const where = kinds.map((k) => files[k]).join(' and ');
  return new RkError(`no subordinate ${what} for user "${user}" (uid ${uid}) in ${where}: ${usermodCommand(kinds, user, files)}`);
}

/** getsubids (the subid service of /etc/nsswitch.conf) listed none of `kind`. */
export function missingFromService(kind: IdKind, user: string, uid: number, detail: string, files: Record<IdKind, string>): RkError {
  return new RkError(
    `no subordinate ${NOUN[kind]} for user "${user}" (uid ${uid}) from getsubids${detail}: ` +
      `add a range in the subid service, or use the files: ${usermodCommand([kind], user, files)}, then --subid-source=static`,
  );
}
