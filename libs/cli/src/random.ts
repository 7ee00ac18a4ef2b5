import { closeSync, openSync, readSync } from 'node:fs';

/**
 * 10 random hex characters (40 bits from the kernel's CSPRNG), for temporary
 * names. Read from /dev/urandom: loading node:crypto would cost more than the
 * rest of a rootlesskit start-up step.
 */
export function randomSuffix(): string {
  const buf = Buffer.alloc(5);
  const fd = openSync('/dev/urandom', 'r');
  try {
    readSync(fd, buf, 0, 5, null);
  } finally {
    closeSync(fd);
  }
  return buf.toString('hex');
}
