/**
 * An error meant for the user: a one-line message that names the fix, and the
 * exit status the command should end with.
 */
export class RkError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RkError';
    this.exitCode = exitCode;
  }
}

/** The one-line text of any thrown value. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? String(err);
  return String(err);
}

/** Exit status for a thrown value: RkError's own, 1 otherwise. */
export function exitCodeOf(err: unknown): number {
  return err instanceof RkError ? err.exitCode : 1;
}
