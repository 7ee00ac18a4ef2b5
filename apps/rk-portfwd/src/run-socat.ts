// rk-portfwd ADDRESS1 ADDRESS2 (socat's syntax): one forward; without fork
// it serves one connection and exits (1 when its target refused, as socat),
// with fork it runs until SIGINT/SIGTERM or the namespace's process exits.
// The listener (and its socket file) goes before exit.
import { resolve } from 'node:path';
import { RkError, type Logger } from '@rk/cli';
import { whenReadable } from '@rk/native';
import { addSocatForward, closeSharedRelay, openTargetNamespace, type SocatForward, type TargetNamespace } from '@rk/portfwd';
import { readChildPid } from '@rk/state';
import type { PortfwdArgs } from './flags.js';

export async function runSocat(a: PortfwdArgs, fwd: SocatForward, log: Logger): Promise<number> {
  const pid = a['state-dir'] !== undefined ? readChildPid(resolve(a['state-dir'])) : a['netns-pid'] !== undefined ? Number(a['netns-pid']) : undefined;
  let ns: TargetNamespace | undefined;
  if (pid !== undefined) {
    ns = openTargetNamespace(pid);
    log.debug(`target inside the namespaces of process ${pid}`);
  }
  let handle;
  try {
    handle = await addSocatForward(fwd, {
      ...(ns ? { ns } : {}),
      ...(a['idle-timeout'] > 0 ? { idleMs: Math.round(a['idle-timeout'] * 1000) } : {}),
      ...(a['proxy-protocol'] ? { proxy: a['proxy-protocol'] === 'v1' ? 1 : 2 } : {}),
      udpIdleMs: Math.round(a['udp-timeout'] * 1000),
      relay: a.threads > 0 ? { threads: a.threads } : {},
      log,
    });
  } catch (e) {
    ns?.close();
    closeSharedRelay();
    if (e instanceof RkError) throw e;
    throw new RkError((e as Error).message);
  }
  const h = handle;
  return new Promise<number>((done) => {
    let stopping = false;
    const keepAlive = setInterval(() => {}, 1 << 30);
    const stop = (why: string, code: number) => {
      if (stopping) return;
      stopping = true;
      log.debug(`${why}: stopping`);
      clearInterval(keepAlive);
      h.close();
      closeSharedRelay();
      ns?.close();
      done(code);
    };
    process.once('SIGINT', () => stop('SIGINT', 0));
    process.once('SIGTERM', () => stop('SIGTERM', 0));
    if (ns) whenReadable(ns.pidfd, () => stop(`process ${pid} exited`, 0));
    void h.done?.then((r) => {
      if (r.code) log.error(`${fwd.lines[1]}: cannot connect: ${r.code} (${r.message})`);
      stop('the one connection (no fork) ended', r.code ? 1 : 0);
    });
  });
}
