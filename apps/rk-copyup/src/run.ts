// Executes a copy-up plan in this process's mount namespace, then execs CMD.
import { RkError, type Logger } from '@rk/cli';
import type { MountPlan } from '@rk/copyup';
import { constants, exec, runPlan, type Bytes, type InheritedSignals, type PlanStep } from '@rk/native';
import { execError, planStepHint } from '@rk/namespaces';

/** Runs every step; on failure throws a one-line RkError (nothing to undo: no step makes anything outside this mount namespace). */
export function executePlan(plan: MountPlan, log: Logger): void {
  plan.steps.forEach((s, i) => log.debug(`${plan.describe(i)} ${JSON.stringify(s)}`));
  try {
    runPlan(plan.steps);
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { step?: number };
    if (typeof err.step !== 'number') throw e;
    const step = plan.steps[err.step]!;
    const reason = err.message.replace(/^.*?: (E[A-Z]+ \()/, '$1');
    throw new RkError(`${plan.describe(err.step)} failed: ${reason}${hint(step, err.code)}`, 1, { cause: e });
  }
}

function hint(step: PlanStep, code: string | undefined): string {
  const known = planStepHint(step.op, code);
  if (known !== '') return known;
  if (step.op === 'mount' && step.flags !== undefined && (step.flags & constants.MS_MOVE) !== 0 && code === 'EINVAL') {
    return '; the parent mount is shared: use --propagation rprivate or rslave';
  }
  if (code === 'EPERM' || (step.op === 'mount' && code === 'EACCES')) {
    return '; run rk-copyup as root of a user namespace that owns its mount namespace (e.g. rk-unshare --user --mount --map-auto -- rk-copyup ...)';
  }
  if (step.op === 'mkdir' && (code === 'EACCES' || code === 'EROFS')) return `; ${step.path.replace(/\/[^/]*$/, '') || '/'} must be writable`;
  if (step.op === 'symlink' && code === 'EEXIST') return '; the directory changed while being copied up: try again';
  return '';
}

/** execve CMD; only returns by throwing (126 cannot execute or bad interpreter, 127 not found). */
export function execCommand(file: Bytes, argv: Bytes[], env: Bytes[], signals?: InheritedSignals): never {
  try {
    return exec(file, argv, env, [], signals);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const err = execError(file, String(argv[0]), code ?? String(e));
    throw new RkError(err.message, err.exitCode, { cause: e });
  }
}
