import { constants, type PlanStep } from '@rk/native';

/** Mounts a fresh /proc (for a new PID namespace), so CMD sees its own PIDs. */
export function procPlan(): PlanStep[] {
  return [
    {
      op: 'mount',
      source: 'proc',
      target: '/proc',
      fstype: 'proc',
      flags: constants.MS_NOSUID | constants.MS_NODEV | constants.MS_NOEXEC,
    },
  ];
}
