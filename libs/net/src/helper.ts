// A driver's helper program (slirp4netns, pasta, vde_plug, lxc-user-nic,
// vpnkit): started without namespaces of its own, killed if we die
// (PR_SET_PDEATHSIG), its stdout and stderr re-emitted line by line through
// our logger under its own prefix with --debug, and its last lines kept to
// quote when it fails.
import { closeSync, openSync, constants as fsc } from 'node:fs';
import { Socket } from 'node:net';
import split2 from 'split2';
import { RkError, type Logger } from '@rk/cli';
import { Child, envList, resolveCommand, type ExitStatus } from '@rk/namespaces';
import { makePipe } from '@rk/native';

export interface HelperOptions {
  /** Program name or path (searched in PATH). */
  binary: string;
  args: string[];
  /** Debian package that provides it, for the "not found" message. */
  pkg: string;
  /** The flag that names another binary (e.g. --slirp4netns-binary). */
  flag?: string;
  /** Extra fds for the helper: it sees extraFds[i] as fd 3+i. */
  extraFds?: number[];
  log: Logger;
  /** Log prefix for its lines, e.g. "[rootlesskit:slirp4netns]". */
  prefix: string;
  /** Its stdin and stdout instead of /dev/null and the log pipe (e.g. vde_plug's frame stream). */
  stdin?: number;
  stdout?: number;
  /** Lines to drop from its output (noise that says nothing, e.g. pasta's syslog failures). */
  ignoreLine?: (line: string) => boolean;
  /** Called with each line it prints (after ignoreLine). */
  onLine?: (line: string) => void;
}

export interface Helper {
  pid: number;
  exited: Promise<ExitStatus>;
  /** The last lines it printed (at most 20). */
  lastLines(): string[];
  /** "<name> exited with status 1: <last lines>" or "<name> was killed by SIGKILL" (a signal came from outside: no lines quoted). */
  describeExit(st: ExitStatus): string;
  /** The same without the name: "exited with status 1: <last lines>", "killed by SIGKILL". */
  howExited(st: ExitStatus): string;
  /** SIGKILL (if still running) and wait. */
  kill(): Promise<void>;
  /** Forgets the lines kept so far (start-up chatter), so that a later failure quotes only what came after. */
  forgetLines(): void;
}

/**
 * "slirp4netns not found: sudo apt-get install slirp4netns (or pass
 * --slirp4netns-binary=PATH)"; for a path the user gave, the flag comes first.
 */
export function notFound(binary: string, pkg: string, flag?: string): string {
  if (binary.includes('/') && flag) return `${binary} not found: correct ${flag}=PATH, or drop it and install the Debian package: sudo apt-get install ${pkg}`;
  return `${binary} not found: sudo apt-get install ${pkg}${flag ? ` (or pass ${flag}=PATH)` : ''}`;
}

/** Absolute path of a helper binary, or a one-line error naming the package. */
export function findBinary(binary: string, pkg: string, flag?: string): string {
  try {
    return resolveCommand(binary);
  } catch {
    throw new RkError(notFound(binary, pkg, flag));
  }
}

export async function startHelper(o: HelperOptions): Promise<Helper> {
  const file = findBinary(o.binary, o.pkg, o.flag);
  const [r, w] = makePipe();
  const devnull = openSync('/dev/null', fsc.O_RDONLY);
  let child: Child;
  try {
    child = new Child({
      file,
      argv: [o.binary, ...o.args],
      env: envList(process.env),
      namespaces: {},
      fds: [o.stdin ?? devnull, o.stdout ?? w, w, ...(o.extraFds ?? [])],
    });
  } finally {
    closeSync(w);
    closeSync(devnull);
  }
  const lines: string[] = [];
  const out = new Socket({ fd: r, readable: true, writable: false });
  const helperLog = o.log.withPrefix(o.prefix);
  out.pipe(split2()).on('data', (line: string) => {
    if (o.ignoreLine?.(line)) return;
    lines.push(line);
    if (lines.length > 20) lines.shift();
    helperLog.debug(line);
    o.onLine?.(line);
  });
  out.on('error', () => {});
  // Output read to the end before the exit is reported, so its last lines are known.
  const drained = new Promise<void>((resolve) => out.once('close', () => resolve()));
  const exited = child.exited.then(async (st) => {
    await Promise.race([drained, new Promise((r) => setTimeout(r, 200))]);
    out.destroy();
    return st;
  });
  try {
    await child.started;
  } catch (e) {
    out.destroy();
    throw e;
  }
  const name = o.binary.split('/').pop();
  // Its last lines say why it exited; a signal came from outside: nothing to quote.
  const how = (st: ExitStatus) => {
    if (st.signal) return `killed by ${st.signal}`;
    const last = lines.filter((l) => l.trim() !== '').slice(-3).join(' | ');
    return `exited with status ${st.code}${last ? `: ${last}` : ''}`;
  };
  return {
    pid: child.pid,
    exited,
    lastLines: () => [...lines],
    describeExit(st) {
      return `${name} ${st.signal ? 'was ' : ''}${how(st)}`;
    },
    howExited: how,
    kill: () => child.kill(),
    forgetLines: () => void lines.splice(0),
  };
}

/**
 * Why a helper-and-pump driver stopped: the helper's exit, or the pump's end.
 * A pump that loses its peer usually means the helper died: its exit (which
 * says how) is waited for a moment before the pump's reason is given.
 */
export function endedBy(helperExit: Promise<string>, pumpEnd: Promise<string>): Promise<string> {
  const settle = pumpEnd.then((why) =>
    Promise.race([helperExit, new Promise<string>((resolve) => setTimeout(() => resolve(why), 1000).unref())]),
  );
  return Promise.race([helperExit, settle]);
}
