// The composition: the same steps rk-unshare, rk-idmap and rk-copyup run, in
// one Node process. The child is cloned into its namespaces and held at a
// gate; its ID maps are written; it then runs its mount plan (propagation,
// /proc, copy-up) natively and execs CMD. No Node process runs inside.
import { RkError, inherited, rawCommand, rawEnv, shown, type Logger } from '@rk/cli';
import { copyUpDrivers, copyUpPlan, propagationSteps, resolveCopyUp, type CopyUpMode, type Propagation } from '@rk/copyup';
import { computeIdMaps, writeIdMaps } from '@rk/idmap';
import { Child, evacuateCgroup2, exitReason, forwardSignals, procPlan, resolveCommand, sysfsPlan, type NamespaceSet } from '@rk/namespaces';
import { API_SOCK_FILE, StateDir } from '@rk/state';
import { connectUnix, ignoreSignals, whenReadable, type PlanStep } from '@rk/native';
import { BYPASS_SOCK_FILE, startBypass, type Bypass } from '@rk/bypass';
import { normalize } from 'node:path';
import { driverFor, netGaveUp, netMountPlan, NO_COPY_UP_WARNING, startNetwork, type NetConfig, type StartedNetwork } from '@rk/net';
import { closeSync, rmSync } from 'node:fs';
import type { Args } from './flags.js';
import { dockerCopyUp } from './docker.js';
import { socketActivation } from './listen-fds.js';
import { startPorts } from './ports.js';

export async function run(a: Args, cmd: string[], version: string, log: Logger, netCfg?: NetConfig): Promise<number> {
  const childLog = log.withPrefix('[rootlesskit:child ]');
  const argv = rawCommand(cmd);
  const file = resolveCommand(argv[0]!);
  const caller = inherited();
  // Signals the caller ignored (nohup, a background job of a script) stay
  // ignored here, as they would for CMD without us: Node reset them.
  if (caller) ignoreSignals(caller.ignore);
  // With --pidns, CMD is never PID 1 (as upstream, whose child process is):
  // a PID 1 that has no handler for a signal never gets it, so an init stays
  // as PID 1 to forward signals; --reaper says whether it also reaps orphans.
  const reaper = a.reaper === 'true' || (a.reaper === 'auto' && a.pidns);
  const ns: NamespaceSet = { user: true, mount: true, net: netCfg !== undefined && !netCfg.detachNetns, pid: a.pidns, uts: a.utsns, ipc: a.ipcns, cgroup: a.cgroupns };

  const mapsP = computeIdMaps({ source: a['subid-source'] as 'auto' | 'dynamic' | 'static' });
  mapsP.catch(() => {});
  let copyUp;
  const copyUpDirs = dockerCopyUp(cmd[0]!, a['copy-up'], log);
  try {
    copyUp = copyUpPlan({ ...copyUpDirs, mode: a['copy-up-mode'] as CopyUpMode, propagation: a.propagation as Propagation });
  } catch (e) {
    throw new RkError((e as Error).message, 1);
  }
  if (netCfg) await driverFor(netCfg.driver).preflight?.(netCfg, log);
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
  if (copyUpDirs.dirs.length === 0) add(propagationSteps(a.propagation as Propagation), () => `set mount propagation ${a.propagation} on /`);
  else add(copyUp.steps, (i) => copyUp.describe(i));
  if (a.pidns) add(procPlan(), () => 'mount a fresh /proc for the PID namespace');
  if (ns.net) {
    add([{ op: 'ifup', name: 'lo' }], () => 'bring up the loopback interface');
    const sys = sysfsPlan();
    add(sys.steps, (i) => sys.describe[i]!);
    if (netCfg!.driver !== 'none') {
      const etcCopiedUp = a['copy-up'].some((d) => normalize(d).replace(/(.)\/$/, '$1') === '/etc');
      if (!etcCopiedUp) log.warn(NO_COPY_UP_WARNING);
      const m = netMountPlan(state.path, etcCopiedUp);
      add(m.steps, (i) => m.describe[i]!);
    }
  }

  if (a['evacuate-cgroup2'] !== undefined) {
    try {
      evacuateCgroup2(a['evacuate-cgroup2']);
    } catch (e) {
      state.remove();
      throw e;
    }
  }

  // CMD's environment: ours byte for byte, plus ROOTLESSKIT_* (as upstream).
  const activation = socketActivation(process.env, caller);
  if (activation.skipped) log.debug(`socket activation not passed on: ${activation.skipped}`);
  const env = rawEnv({
    ROOTLESSKIT_STATE_DIR: state.path,
    ROOTLESSKIT_PARENT_EUID: String(process.geteuid!()),
    ROOTLESSKIT_PARENT_EGID: String(process.getegid!()),
    ...(activation.fillListenPid ? { LISTEN_PID: '0' } : {}),
  });
  // --bypass: bypass.sock is made before the child (which gets a connection
  // to it, to hand its filter's listener over right before exec); the
  // supervisor starts once the child's namespaces exist.
  let bypassListen = -1;
  let bypassConn = -1;
  if (a.bypass) {
    try {
      bypassListen = state.listen(BYPASS_SOCK_FILE);
      bypassConn = connectUnix(state.file(BYPASS_SOCK_FILE));
    } catch (e) {
      if (bypassListen >= 0) closeSync(bypassListen);
      state.remove();
      throw new RkError(`--bypass: cannot make ${state.file(BYPASS_SOCK_FILE)}: ${(e as Error).message}: use a shorter or writable --state-dir`);
    }
  }
  let child: Child;
  try {
    child = new Child({
      file,
      argv,
      env,
      namespaces: ns,
      gate: true,
      holdAfterPlan: true,
      plan,
      describeStep: (i) => describe[i] ?? `step ${i}`,
      reaper: a.pidns,
      reapOrphans: reaper,
      fds: activation.fds,
      fillListenPid: activation.fillListenPid,
      signals: caller,
      ...(bypassConn >= 0 ? { bypassFd: bypassConn } : {}),
    });
  } catch (e) {
    if (bypassConn >= 0) closeSync(bypassConn);
    if (bypassListen >= 0) closeSync(bypassListen);
    state.remove();
    throw e;
  } finally {
    if (bypassConn >= 0) closeSync(bypassConn);
  }
  log.debug(`child ${child.pid} cloned, held at the gate`);
  const stopForwarding = forwardSignals(child.pid, (sig) => log.debug(`forwarding ${sig} to ${child.pid}`), caller?.ignored);
  log.debug('forwarding signals');
  let api: Promise<{ close(): Promise<void> }> | undefined;
  let net: StartedNetwork | undefined;
  let apiFd = -1;
  let ports: Awaited<ReturnType<typeof startPorts>>;
  let bypass: Bypass | undefined;
  // At exit, in order: no more signals forwarded, the ports (their listeners
  // and what they set up inside), the network driver, the API, the state dir.
  const shutdown = async () => {
    stopForwarding();
    await ports?.close().catch((e: unknown) => log.debug(`closing the port driver: ${(e as Error).message}`));
    await net?.stop();
    bypass?.stop();
    if (api) void api.then((server) => server.close()).catch(() => {});
    else if (apiFd >= 0) closeSync(apiFd);
    state.remove();
  };
  try {
    if (bypassListen >= 0) {
      const fd = bypassListen;
      bypassListen = -1;
      bypass = startBypass({ listenFd: fd, pid: child.pid, ignore: a['bypass-ignore'], nested: a['bypass-nested'], log });
      log.debug('bypass supervisor started');
    }
    await writeIdMaps(child.pid, maps);
    log.debug('uid_map and gid_map written');
    if (netCfg) {
      if (netCfg.detachNetns) state.writeFile('netns', '', 0o444);
      const remove = (n: string) => rmSync(state.fdPath(n), { force: true });
      const files = { dir: state.path, write: (n: string, t: string, m?: number) => (remove(n), state.writeFile(n, t, m)), remove };
      net = await startNetwork(child.pid, netCfg, { files, log });
      // A helper that dies is restarted by its driver; once the driver gives
      // up (it logged why), CMD keeps running without network, as upstream's
      // does, and our exit status is still CMD's.
      const started = net;
      void net.ended.then((reason) => netGaveUp(started, netCfg.driver, reason, log));
    }
    ports = await startPorts(a, child.pid, net, log);
    // The child runs its mount plan (propagation, copy-up, /proc, /sys,
    // resolv.conf) and waits again: child_pid is written only once those
    // mounts are done, so whoever enters via child_pid (nsenter) finds them
    // (upstream may write it before the child's copy-up has run).
    child.release();
    await child.planDone;
    childLog.debug('mount plan done');
    // what each copied-up dir got (with auto, the kernel decided), for --debug and /v1/info
    const copyUpMode = a['copy-up-mode'] as CopyUpMode;
    const copyUpInfo = copyUpDirs.dirs.length === 0 ? undefined : copyUpDrivers(resolveCopyUp({ dirs: copyUpDirs.dirs }).dirs.map((d) => d.path), copyUpMode, child.pid);
    if (copyUpMode === 'auto') {
      for (const d of copyUpInfo ?? []) childLog.debug(`--copy-up-mode=auto: ${d.path}: ${d.driver === 'overlayfs' ? 'overlayfs' : 'tmpfs+symlink (the kernel refused the overlay)'}`);
    }
    // As upstream: child_pid and api.sock exist before CMD runs. The socket is
    // made natively (connections queue in its backlog); the HTTP server that
    // answers them is loaded when the first client connects, so a run that
    // nobody queries never pays for it.
    state.writeChildPid(child.pid);
    const socketPath = state.file(API_SOCK_FILE);
    try {
      apiFd = state.listen(API_SOCK_FILE);
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
            networkDriver: !net ? undefined : net.info.driver === 'none' ? { driver: 'none' } : { driver: net.info.driver, dns: net.info.dns, childIP: net.info.ip },
            portDriver: ports?.info(),
            ...(copyUpInfo ? { copyUpDriver: { driver: copyUpMode, dirs: copyUpInfo } } : {}),
            ...(bypass ? { bypass: bypass.info() } : {}),
          }),
          ...(ports ? { ports } : {}),
        }),
      );
      api.catch((e: unknown) => log.error(`API server: ${(e as Error).message}`));
    });
    child.proceed();
    await child.started;
    childLog.debug(`executed ${argv.map(shown).join(' ')}`);
  } catch (e) {
    await child.kill();
    await shutdown();
    if (e instanceof RkError) throw e;
    throw new RkError(e instanceof Error ? e.message : String(e));
  }
  const st = await child.exited;
  await shutdown();
  // Upstream's words for both lines: scripts grep for them ("signal: user defined signal 1").
  const code = st.signal ? 255 : (st.code ?? 255);
  if (code !== 0) {
    childLog.error(`command [${cmd.join(' ')}] exited: ${exitReason(st)}`);
    log.error(`child exited: exit status ${code}`);
  }
  return code;
}
