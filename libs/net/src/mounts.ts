// What the child's mount plan does for a network namespace: STATE/resolv.conf
// and STATE/hosts (written by the driver before the gate opens) bound over
// /etc/resolv.conf and /etc/hosts. With /etc copied up, the copied-up
// symlinks are replaced by empty files first (so the host's files are never
// mounted over); without, the bind covers the host file inside our mount
// namespace only, and upstream's warning is given.
import { constants, type PlanStep } from '@rk/native';
import { netFilePaths } from './files.js';

export { netFilePaths };

export const NO_COPY_UP_WARNING =
  'Mounting /etc/resolv.conf without copying-up /etc. Note that /etc/resolv.conf in the namespace will be unmounted when it is ' +
  'recreated on the host. Unless /etc/resolv.conf is statically configured, copying-up /etc is highly recommended.';

export function netMountPlan(stateDir: string, etcCopiedUp: boolean): { steps: PlanStep[]; describe: string[] } {
  const files = netFilePaths(stateDir);
  const steps: PlanStep[] = [];
  const describe: string[] = [];
  for (const [src, dst] of [[files.resolvConf, '/etc/resolv.conf'], [files.hosts, '/etc/hosts']] as const) {
    if (etcCopiedUp) {
      steps.push({ op: 'unlink', path: dst, optional: true });
      describe.push(`remove the copied-up ${dst}`);
      steps.push({ op: 'mkfile', path: dst, mode: 0o644 });
      describe.push(`create an empty ${dst} on the copied-up /etc`);
    }
    steps.push({ op: 'mount', source: src, target: dst, flags: constants.MS_BIND });
    describe.push(`bind ${src} on ${dst}`);
  }
  return { steps, describe };
}
