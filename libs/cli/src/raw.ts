// The caller's argv and environment as raw bytes. Node decodes both as UTF-8
// (bytes that are not UTF-8 become U+FFFD), but leaves /proc/self/cmdline and
// /proc/self/environ as the kernel got them at exec: CMD gets those bytes,
// unchanged, so `rootlesskit cat $'caf\xe9.txt'` opens that very file.
import { readFileSync } from 'node:fs';

function nulSplit(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] === 0) {
      out.push(buf.subarray(start, i));
      start = i + 1;
    }
  }
  if (start < buf.length) out.push(buf.subarray(start));
  return out;
}

/** Our own arguments (process.argv.slice(2)) as raw bytes; undefined when /proc is unreadable. */
export function rawArgs(): Buffer[] | undefined {
  try {
    const all = nulSplit(readFileSync('/proc/self/cmdline'));
    const n = process.argv.length - 2;
    return n >= 0 && all.length >= n ? all.slice(all.length - n) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CMD as raw bytes: the last cmd.length arguments we were given (CMD always
 * ends our argv), each kept as the string when it decodes to the same text.
 * Falls back to the strings when they do not line up.
 */
export function rawCommand(cmd: string[]): Array<string | Buffer> {
  const raw = rawArgs();
  if (!raw || raw.length < cmd.length) return cmd;
  const tail = raw.slice(raw.length - cmd.length);
  if (tail.some((b, i) => b.toString() !== cmd[i])) return cmd;
  return tail.map((b, i) => (Buffer.from(cmd[i]!).equals(b) ? cmd[i]! : b));
}

/**
 * The environment for CMD: the one we were started with, byte for byte,
 * with the keys in `set` replaced (a value of undefined removes the key).
 */
export function rawEnv(set: Record<string, string | undefined> = {}): Array<string | Buffer> {
  let entries: Array<string | Buffer>;
  try {
    entries = nulSplit(readFileSync('/proc/self/environ'));
  } catch {
    entries = Object.entries(process.env).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
  }
  const keys = new Set(Object.keys(set));
  const out = entries.filter((e) => {
    const s = typeof e === 'string' ? e : e.toString('latin1');
    const eq = s.indexOf('=');
    return !keys.has(eq < 0 ? s : s.slice(0, eq));
  });
  for (const [k, v] of Object.entries(set)) if (v !== undefined) out.push(`${k}=${v}`);
  return out;
}

/** Text of an argument for messages (bytes that are not UTF-8 shown as U+FFFD). */
export function shown(a: string | Buffer): string {
  return typeof a === 'string' ? a : a.toString();
}
