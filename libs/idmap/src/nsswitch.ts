// Which NSS service getsubids would ask: the "subid:" line of nsswitch.conf.
// Without one (or with "files"), libsubid reads /etc/subuid and /etc/subgid
// itself, so reading them directly gives the same ranges without two process
// starts.
import { readFileSync } from 'node:fs';

/** The subid service configured in `file`, or undefined when there is none (libsubid then uses the files). */
export function subidService(file = '/etc/nsswitch.conf'): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const m = /^\s*subid\s*:\s*(\S+)/.exec(line);
    if (m) return m[1];
  }
  return undefined;
}
