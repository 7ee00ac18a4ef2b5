// A command started in new namespaces, held at a gate until released.
import { RkError } from '@rk/cli';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { ReportKind, Stage, constants, spawn, watchChild, type Bytes, type InheritedSignals, type PlanStep } from '@rk/native';
import { appArmorHint, explainUsernsFailure } from './diagnose.js';
import { errnoName, signalName } from './errno.js';
import { planStepHint } from './plan-hints.js';
import { cloneFlags, type NamespaceSet } from './flags.js';

export interface StartOptions {
  /** Absolute path of the program (see resolveCommand). */
  file: Bytes;
  /** argv[0] included (strings, or raw bytes passed through unchanged). */
  argv: Bytes[];
  /** KEY=value entries. */
  env: Bytes[];
  namespaces: NamespaceSet;
  /** Hold the child before the plan and exec until release() (abort() ends it). */
  gate?: boolean;
  /** With gate: hold it again after the plan (planDone) until proceed(), so the caller can announce it (child_pid) once the mounts are done. */
  holdAfterPlan?: boolean;
  /** Mount plan run in the child after the gate, before exec. */
  plan?: PlanStep[];
  /** Text for plan step i in error messages. */
  describeStep?: (i: number) => string;
  /** Child stays as PID 1 forwarding signals and reaping orphans; CMD runs as its child (needs pid namespace). */
  reaper?: boolean;
  /** With reaper: false makes PID 1 wait for CMD only, leaving orphans unreaped (upstream's --reaper=false with --pidns). */
  reapOrphans?: boolean;
  /** Child fd i = fds[i]; default [0, 1, 2]. */
  fds?: number[];
  /** Set the env's LISTEN_PID to CMD's own PID (socket activation). */
  fillListenPid?: boolean;
  /** Signal dispositions (SIG_IGN) and mask CMD starts with: the caller's (see @rk/cli inherited). */
  signals?: InheritedSignals;
  /** A unix socket to the bypass supervisor: the connect() filter is installed right before exec (see @rk/bypass). */
  bypassFd?: number;
}

/** How the command ended: an exit code, or the signal that killed it. */
export interface ExitStatus {
  code: number | null;
  signal: string | null;
}

export class Child {
  readonly pid: number;
  /** Resolves once CMD is exec'd; rejects with an RkError when a step before exec failed. */
  readonly started: Promise<void>;
  /** Resolves with CMD's final status (with a reaper: CMD's, not the reaper's). */
  readonly exited: Promise<ExitStatus>;
  /** With holdAfterPlan: resolves once the mount plan ran (the child waits for proceed()); rejects as started does. */
  readonly planDone: Promise<void>;
  private gateFd: number;
  private readonly hold: boolean;
  private reaped = false;

  constructor(opts: StartOptions) {
    let r;
    try {
      r = spawn({
        file: opts.file,
        argv: opts.argv,
        env: opts.env,
        cloneFlags: cloneFlags(opts.namespaces),
        gate: opts.gate ?? false,
        holdAfterPlan: (opts.gate ?? false) && (opts.holdAfterPlan ?? false),
        pdeathsig: constants.SIGKILL,
        fds: opts.fds,
        plan: opts.plan ?? [],
        reaper: opts.reaper ?? false,
        reapOrphans: opts.reapOrphans ?? true,
        fillListenPid: opts.fillListenPid ?? false,
        signals: opts.signals,
        ...(opts.bypassFd !== undefined ? { bypassFd: opts.bypassFd } : {}),
      });
    } catch (e) {
      throw cloneError(e as NodeJS.ErrnoException, opts.namespaces);
    }
    this.pid = r.pid;
    this.gateFd = r.gateFd;
    this.hold = (opts.gate ?? false) && (opts.holdAfterPlan ?? false);
    let settle!: { ok: () => void; fail: (rec: number[]) => void };
    const started = new Promise<void>((ok, fail) => (settle = { ok, fail }));
    let planSettle!: { ok: () => void; fail: (rec: number[]) => void };
    const planDone = new Promise<void>((ok, fail) => (planSettle = { ok, fail }));
    let status: number | undefined;
    this.exited = new Promise<ExitStatus>((resolve) => {
      watchChild(r.pid, r.reportFd, (e) => {
        if (e.type === 'report') {
          const [kind, , , st] = e.record;
          if (kind === ReportKind.Error) {
            settle.fail(e.record);
            planSettle.fail(e.record);
          } else if (kind === ReportKind.PlanDone) planSettle.ok();
          else if (kind === ReportKind.ExecOk) settle.ok();
          else if (kind === ReportKind.Status) status = st;
        } else if (e.type === 'eof') {
          settle.ok();
          planSettle.ok();
        } else if ((this.reaped = true) && status !== undefined) {
          // the reaper's report of CMD's own status
          if ((status & 0x7f) === 0) resolve({ code: (status >> 8) & 0xff, signal: null });
          else resolve({ code: null, signal: signalName(status & 0x7f) });
        } else {
          resolve({ code: e.code ?? null, signal: e.signal ? signalName(e.signal) : null });
        }
      });
    });
    this.started = started.catch((rec: number[]) => {
      throw stageError(rec, opts);
    });
    this.started.catch(() => {});
    this.planDone = planDone.catch((rec: number[]) => {
      throw stageError(rec, opts);
    });
    this.planDone.catch(() => {});
  }

  /** Opens the gate: the child runs its plan and (without holdAfterPlan) execs CMD. */
  release(): void {
    if (this.gateFd < 0) return;
    writeSync(this.gateFd, Buffer.from([1]));
    if (!this.hold) {
      closeSync(this.gateFd);
      this.gateFd = -1;
    }
  }

  /** With holdAfterPlan, after planDone: lets the child exec CMD. */
  proceed(): void {
    if (this.gateFd < 0) return;
    writeSync(this.gateFd, Buffer.from([1]));
    closeSync(this.gateFd);
    this.gateFd = -1;
  }

  /** Ends the child whatever its state (gate closed, SIGKILL) and waits for it. */
  async kill(): Promise<void> {
    this.abort();
    // Once reaped, the PID may belong to another process: never signal it then.
    if (!this.reaped) {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await this.exited;
  }

  /** Closes the gate without releasing: the child exits without running CMD. */
  abort(): void {
    if (this.gateFd < 0) return;
    closeSync(this.gateFd);
    this.gateFd = -1;
  }
}

function cloneError(e: NodeJS.ErrnoException, ns: NamespaceSet): Error {
  const code = e.code ?? 'UNKNOWN';
  if (ns.user && (code === 'EPERM' || code === 'ENOSPC' || code === 'EACCES' || code === 'EUSERS')) {
    return new RkError(explainUsernsFailure(code), 1, { cause: e });
  }
  if (!ns.user && code === 'EPERM') {
    return new RkError('creating namespaces needs privileges: add --user (a user namespace) or run as root', 1, { cause: e });
  }
  return new RkError(`cannot start the command in new namespaces: ${e.message}`, 1, { cause: e });
}

function stageError(rec: number[], opts: StartOptions): RkError {
  const [, stage, errno] = rec as [number, number, number];
  const code = errnoName(errno);
  const hint = code === 'EPERM' && opts.namespaces.user ? appArmorHint() : '';
  switch (stage) {
    case Stage.Exec:
      return execError(opts.file, String(opts.argv[0]), code);
    case Stage.Gate:
      return new RkError(`${String(opts.argv[0])} was not started: the gate was closed before it was released`);
    case Stage.Fds:
      return new RkError(`cannot set up the command's file descriptors: ${code}`);
    case Stage.Setup:
      return new RkError(`cannot set the parent-death signal: ${code}`);
    case Stage.Reaper:
      return new RkError(`cannot start the command under the PID-1 reaper: ${code}`);
    case Stage.Bypass:
      return new RkError(`cannot install the --bypass filter: ${code}${code === 'EPIPE' ? ' (the bypass supervisor did not take it)' : ''}`);
    default: {
      const what = opts.describeStep ? opts.describeStep(stage) : `step ${stage} of the mount plan`;
      const op = opts.plan?.[stage]?.op;
      const fix = planStepHint(op, code);
      if (fix !== '') return new RkError(`${what}: ${code}${fix}`);
      return new RkError(`${what}: ${code}${hint}`);
    }
  }
}

/**
 * The error for an execve that failed with `code`, as a shell words it: 127
 * "command not found", 126 "permission denied", and for a script whose
 * interpreter is missing (execve says ENOENT for the interpreter too) 126
 * "bad interpreter", as bash says it.
 */
export function execError(file: Bytes, name: string, code: string): RkError {
  if (code === 'ENOENT') {
    const interp = interpreterOf(file);
    if (interp !== undefined) return new RkError(`${name}: ${interp}: bad interpreter: No such file or directory`, 126);
    return new RkError(`${name}: command not found`, 127);
  }
  if (code === 'EACCES') return new RkError(`${name}: permission denied`, 126);
  return new RkError(`cannot execute ${String(file)}: ${code}`, 126);
}

/** The interpreter named on a "#!" first line of `file`, if it has one. */
function interpreterOf(file: Bytes): string | undefined {
  let fd = -1;
  try {
    fd = openSync(file, 'r');
    const buf = Buffer.alloc(256);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const head = buf.subarray(0, n).toString();
    if (!head.startsWith('#!')) return undefined;
    return head.slice(2).split('\n')[0]!.trim().split(/[ \t]+/)[0] || undefined;
  } catch {
    return undefined;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}
