import { inherited, rawCommand, rawEnv, shown, type Logger } from '@rk/cli';
import { computeIdMaps, writeIdMaps, writeRootOnlyMaps } from '@rk/idmap';
import { Child, exitReason, forwardSignals, procPlan, resolveCommand, type NamespaceSet } from '@rk/namespaces';
import { StateDir, createGate } from '@rk/state';
import { propagationSteps, type Propagation } from '@rk/copyup';
import { ignoreSignals, type PlanStep } from '@rk/native';
import type { UnshareArgs } from './flags.js';

export async function runUnshare(args: UnshareArgs, cmd: string[], log: Logger): Promise<number> {
  const mapAuto = args['map-auto'];
  const mapRoot = args['map-root'];
  const ns: NamespaceSet = {
    user: args.user || mapAuto || mapRoot,
    mount: args.mount || args.pid,
    net: args.net,
    pid: args.pid,
    uts: args.uts,
    ipc: args.ipc,
    cgroup: args.cgroup,
  };
  const argv = rawCommand(cmd);
  const file = resolveCommand(argv[0]!);
  const caller = inherited();
  if (caller) ignoreSignals(caller.ignore);
  const maps = mapAuto ? await computeIdMaps({ source: args['subid-source'] }) : undefined;
  for (const w of maps?.warnings ?? []) log.warn(w);
  const state = args['state-dir'] !== undefined ? StateDir.open(args['state-dir'], { owner: 'rk-unshare' }) : undefined;
  // CMD's environment: ours byte for byte (plus ROOTLESSKIT_STATE_DIR with a state dir).
  const env = rawEnv(state ? { ROOTLESSKIT_STATE_DIR: state.path } : {});
  const plan: PlanStep[] = [
    ...(ns.mount ? propagationSteps(args.propagation as Propagation) : []),
    ...(ns.pid ? procPlan() : []),
    ...(ns.net ? [{ op: 'ifup', name: 'lo' } as const] : []),
  ];
  let child: Child;
  try {
    child = new Child({
      file,
      argv,
      env,
      signals: caller,
      namespaces: ns,
      gate: true,
      plan,
      reaper: args.reaper,
      describeStep: (i) => describe(plan[i]),
    });
  } catch (e) {
    state?.remove();
    throw e;
  }
  log.debug(`child ${child.pid} started in namespaces; held at the gate`);
  const stopForwarding = forwardSignals(child.pid, undefined, caller?.ignored);
  const cleanup = () => {
    stopForwarding();
    state?.remove();
  };
  try {
    if (maps) {
      await writeIdMaps(child.pid, maps);
      log.debug(`uid_map and gid_map of ${child.pid} written`);
    } else if (mapRoot) {
      await writeRootOnlyMaps(child.pid, process.geteuid!(), process.getegid!());
    }
    if (state) state.writeChildPid(child.pid);
    if (args.gate && state) {
      const gate = createGate(state);
      log.debug(`waiting at ${state.file('gate')}`);
      const early = await Promise.race([gate.opened.then(() => undefined), child.exited]);
      gate.close();
      if (early) {
        // Killed (or gone) while held: CMD never ran. Say so, as a signal's death is said after exec.
        cleanup();
        const name = shown(argv[0]!);
        if (early.signal) {
          log.error(`${name} was killed by ${early.signal} before release (it was held at ${state.file('gate')})`);
          return 255;
        }
        log.error(`${name} was not started: the held child exited with status ${early.code} before release`);
        return early.code || 1;
      }
    }
    child.release();
    await child.started;
  } catch (e) {
    await child.kill();
    cleanup();
    throw e;
  }
  const st = await child.exited;
  cleanup();
  if (st.signal) {
    log.error(`${shown(argv[0]!)} exited: ${exitReason(st)} (${st.signal})`);
    return 255;
  }
  return st.code ?? 255;
}

function describe(step: PlanStep | undefined): string {
  if (!step) return 'set-up';
  if (step.op === 'ifup') return 'bring up the loopback interface';
  if (step.op === 'mount') {
    if (step.fstype === 'proc') return 'mount a fresh /proc';
    if (step.target === '/' && !step.fstype) return 'set mount propagation of /';
    return `mount ${step.fstype ?? step.source} on ${step.target}`;
  }
  return `${step.op} ${'path' in step ? step.path : 'target' in step ? step.target : ''}`.trimEnd();
}

