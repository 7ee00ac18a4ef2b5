// The builtin driver's NAT engine as a process: rk-nat-engine (libs/native,
// no Node in it), sandboxed before it reads its first frame. It is given a
// copy of the tap (fd 3), its options (fd 4) and a memfd for its counters
// (fd 5), and nothing else of ours. The caller keeps its own copy of the tap,
// so that a new engine can take over the same device when one dies.
import { closeSync, readFileSync, writeSync } from 'node:fs';
import { RkError, type Logger } from '@rk/cli';
import { ENGINE_EXIT, ENGINE_STATS_BYTES, makePipe, memfdCreate, natEngineConfig, natEnginePath, readEngineStats, type SlirpOptions, type SlirpStats } from '@rk/native';
import { startHelper } from './helper.js';

export interface NatEngine {
  pid: number;
  /** Settles with how it died ("was killed by SIGSEGV"); never after stop(), nor when it ended because the tap went away (the namespace is gone). */
  died: Promise<string>;
  stats(): SlirpStats | null;
  /** SIGKILL and wait (idempotent). */
  stop(): Promise<void>;
}

/** The first IPv4 nameserver of the host's resolv.conf, as "IP:53": the engine reads no file itself. */
export function hostResolver(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\d{1,3}(?:\.\d{1,3}){3})\s*(?:#.*)?$/.exec(line);
    if (m) return `${m[1]}:53`;
  }
  return undefined;
}

export function engineDnsUpstream(given: string | undefined, log: Logger): string | undefined {
  if (given) return given;
  let text = '';
  try {
    text = readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    // none: libslirp's own lookup fails the same way in the sandbox
  }
  const r = hostResolver(text);
  if (!r) log.warn('the host\'s /etc/resolv.conf names no IPv4 nameserver: DNS from the namespace will not be answered');
  return r;
}

export async function startNatEngine(tapFd: number, opts: SlirpOptions, log: Logger): Promise<NatEngine> {
  const config = natEngineConfig(opts); // TypeError for bad options, before anything starts
  const statsFd = memfdCreate('rk-nat-engine-stats', ENGINE_STATS_BYTES);
  const [cfgR, cfgW] = makePipe();
  let ready!: () => void;
  const serving = new Promise<void>((resolve) => (ready = resolve));
  let helper;
  try {
    writeSync(cfgW, config);
    closeSync(cfgW);
    helper = await startHelper({
      binary: natEnginePath,
      args: [],
      pkg: 'libslirp0',
      extraFds: [tapFd, cfgR, statsFd],
      log,
      prefix: '[rootlesskit:nat-engine]',
      onLine: (line) => {
        if (line.includes('serving the tap')) ready();
        else if (/budget|warning/.test(line)) log.warn(line);
      },
    });
  } catch (e) {
    closeSync(statsFd);
    throw e;
  } finally {
    closeSync(cfgR);
  }
  const h = helper;
  let gone = false;
  const exited = h.exited.then((st) => {
    gone = true;
    return st;
  });
  const first = await Promise.race([serving.then(() => null), exited]);
  if (first) {
    closeSync(statsFd);
    throw new RkError(`cannot start the builtin network engine: ${h.describeExit(first)}`);
  }
  h.forgetLines();
  let closed = false;
  let stopping = false;
  const closeStats = () => {
    if (!closed) closeSync(statsFd);
    closed = true;
  };
  const died = exited.then((st) => {
    closeStats();
    if (stopping || st.code === ENGINE_EXIT.tapGone) return new Promise<string>(() => {});
    return h.describeExit(st);
  });
  return {
    pid: h.pid,
    died,
    stats: () => (gone || closed ? null : readEngineStats(statsFd)),
    async stop() {
      stopping = true;
      await h.kill();
      closeStats();
    },
  };
}
