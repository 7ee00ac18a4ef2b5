// The composition: the same steps rk-unshare, rk-idmap and rk-copyup run, in
// one Node process. The child is cloned into its namespaces and held at a
// gate; its ID maps are written; it then runs its mount plan (propagation,
// /proc, copy-up) natively and execs CMD. No Node process runs inside.
import { RkError, type Logger } from '@rk/cli';
import { copyUpPlan, propagationSteps, type Propagation } from '@rk/copyup';
import { computeIdMaps, writeIdMaps } from '@rk/idmap';
import { Child, envList, evacuateCgroup2, forwardSignals, procPlan, resolveCommand, sysfsPlan, type NamespaceSet } from '@rk/namespaces';
import { API_SOCK_FILE, StateDir } from '@rk/state';
import { listenUnix, whenReadable, type PlanStep } from '@rk/native';
import { closeSync, rmSync } from 'node:fs';
import type { Args } from './flags.js';
import { socketActivation } from './listen-fds.js';
import { startPorts } from './ports.js';

export async function run(a: Args, cmd: string[], version: string, log: Logger): Promise<number> {
  const childLog = log.withPrefix('[rootlesskit:child ]');
  const file = resolveCommand(cmd[0]!);
  const reaper = a.reaper === 'true' || (a.reaper === 'auto' && a.pidns);
  const ns: NamespaceSet = { user: true, mount: true, net: a.net !== 'host', pid: a.pidns, uts: a.utsns, ipc: a.ipcns, cgroup: a.cgroupns };

  const mapsP = computeIdMaps({ source: a['subid-source'] as 'auto' | 'dynamic' | 'static' });
  mapsP.catch(() => {});
  let copyUp;
  try {
    copyUp = copyUpPlan({ dirs: a['copy-up'], mode: 'tmpfs+symlink', propagation: a.propagation as Propagation });
  } catch (e) {
    throw new RkError((e as Error).message, 1);
  }
  const maps = await mapsP;
  for (const w of maps.warnings) log.warn(w);
  log.debug('ID maps computed, copy-up planned');
  const state = StateDir.open(a['state-dir']);
  log.debug(`state dir ${state.path}`);

  const plan: PlanStep[] = [];
  const describe: string[] = [];
  const add = (steps: PlanStep[], what: (i: number) => string) => {
    steps.forEach((s, i) => {
      plan.push(s);
      describe.push(what(i));
    });
  };
  // copyUpPlan starts with the propagation steps itself.
  if (a['copy-up'].length === 0) add(propagationSteps(a.propagation as Propagation), () => `set mount propagation ${a.propagation} on /`);
  else add(copyUp.steps, (i) => copyUp.describe(i));
  if (a.pidns) add(procPlan(), () => 'mount a fresh /proc for the PID namespace');
  const cleanupDirs = [...copyUp.cleanup];
  if (ns.net) {
    add([{ op: 'ifup', name: 'lo' }], () => 'bring up the loopback interface');
    const sys = sysfsPlan();
    add(sys.steps, (i) => sys.describe[i]!);
    cleanupDirs.push(...sys.cleanup);
  }

  if (a['evacuate-cgroup2'] !== undefined) {
    try {
      evacuateCgroup2(a['evacuate-cgroup2']);
    } catch (e) {
      state.remove();
      throw e;
    }
  }

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ROOTLESSKIT_STATE_DIR: state.path,
    ROOTLESSKIT_PARENT_EUID: String(process.geteuid!()),
    ROOTLESSKIT_PARENT_EGID: String(process.getegid!()),
  };
  const activation = socketActivation(env);
  let child: Child;
  try {
    child = new Child({
      file,
      argv: cmd,
      env: envList(env),
      namespaces: ns,
      gate: true,
      plan,
      describeStep: (i) => describe[i] ?? `step ${i}`,
      reaper,
      fds: activation.fds,
      fillListenPid: activation.fillListenPid,
    });
  } catch (e) {
    state.remove();
    throw e;
  }
  log.debug(`child ${child.pid} cloned, held at the gate`);
  const stopForwarding = forwardSignals(child.pid, (sig) => log.debug(`forwarding ${sig} to ${child.pid}`));
  log.debug('forwarding signals');
  let api: Promise<{ close(): Promise<void> }> | undefined;
  let apiFd = -1;
  let ports: Awaited<ReturnType<typeof startPorts>>;
  const cleanup = () => {
    stopForwarding();
    void ports?.close();
    if (api) void api.then((server) => server.close()).catch(() => {});
    else if (apiFd >= 0) closeSync(apiFd);
    for (const dir of cleanupDirs) rmSync(dir, { recursive: true, force: true });
    state.remove();
  };
  try {
    await writeIdMaps(child.pid, maps);
    log.debug('uid_map and gid_map written');
    ports = await startPorts(a, child.pid, log);
    // As upstream: child_pid and api.sock exist before CMD runs. The socket is
    // made natively (connections queue in its backlog); the HTTP server that
    // answers them is loaded when the first client connects, so a run that
    // nobody queries never pays for it.
    state.writeChildPid(child.pid);
    const socketPath = state.file(API_SOCK_FILE);
    try {
      apiFd = listenUnix(socketPath);
    } catch (e) {
      throw new RkError(`cannot serve the API on ${socketPath}: ${(e as Error).message}: use a shorter or writable --state-dir`);
    }
    const fd = apiFd;
    whenReadable(fd, () => {
      log.debug('first API client: starting the API server');
      api = import('@rk/api').then(({ startApiServer, API_VERSION }) =>
        startApiServer({
          socketPath,
          fd,
          info: () => ({
            apiVersion: API_VERSION,
            version,
            stateDir: state.path,
            childPID: child.pid,
            networkDriver: a.net === 'host' ? undefined : { driver: a.net },
            portDriver: ports?.info(),
          }),
          ...(ports ? { ports } : {}),
        }),
      );
      api.catch((e: unknown) => log.error(`API server: ${(e as Error).message}`));
    });
    child.release();
    await child.started;
    childLog.debug(`executed ${cmd.join(' ')}`);
  } catch (e) {
    await child.kill();
    cleanup();
    if (e instanceof RkError) throw e;
    throw new RkError(e instanceof Error ? e.message : String(e));
  }
  const st = await child.exited;
  cleanup();
  if (st.signal) {
    childLog.error(`command [${cmd.join(' ')}] exited: killed by signal ${st.signal}`);
    log.error('child exited: exit status 255');
    return 255;
  }
  if (st.code !== 0) log.debug(`child exited: exit status ${st.code}`);
  return st.code ?? 255;
}
