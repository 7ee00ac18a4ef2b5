import { randomBytes } from 'node:crypto';

/** 10 random hex characters (40 bits from the kernel's CSPRNG). */
export function randomSuffix(): string {
  return randomBytes(5).toString('hex');
}
