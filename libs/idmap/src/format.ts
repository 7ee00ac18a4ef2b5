import type { IdMapLine } from './types.js';

/** The map as /proc/PID/uid_map shows it: three right-aligned 10-wide columns per line. */
export function formatIdMap(lines: IdMapLine[]): string {
  return lines.map((l) => `${pad(l.inside)} ${pad(l.outside)} ${pad(l.count)}\n`).join('');
}

/** The map as the kernel takes it (one write): "INSIDE OUTSIDE COUNT" per line. */
export function mapText(lines: IdMapLine[]): string {
  return lines.map((l) => `${l.inside} ${l.outside} ${l.count}\n`).join('');
}

function pad(n: number): string {
  return String(n).padStart(10);
}
