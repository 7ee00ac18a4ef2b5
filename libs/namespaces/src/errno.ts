import { constants } from 'node:os';

const names = new Map<number, string>();
for (const [name, num] of Object.entries(constants.errno)) if (!names.has(num)) names.set(num, name);

/** "EPERM" for 1, as Node names errno values. */
export function errnoName(errno: number): string {
  return names.get(Math.abs(errno)) ?? `errno ${errno}`;
}

const signalNames = new Map<number, string>();
for (const [name, num] of Object.entries(constants.signals)) if (!signalNames.has(num)) signalNames.set(num, name);

/** "SIGUSR1" for 10. */
export function signalName(sig: number): string {
  return signalNames.get(sig) ?? `signal ${sig}`;
}
