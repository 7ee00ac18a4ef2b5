// rk-portfwd's work: open the target namespace (if any), make the port
// driver, publish the -p ports, serve DIR/api.sock (with --state-dir), and
// run until a signal or the end of the namespace's process.
import { resolve } from 'node:path';
import { RkError, type Logger } from '@rk/cli';
import type { PortSpec } from '@rk/api';
import { whenReadable } from '@rk/native';
import { createPortDriver, openTargetNamespace, type PortDriver, type TargetNamespace } from '@rk/portfwd';
import { readChildPid } from '@rk/state';
import type { PortfwdArgs } from './flags.js';
import { claimApiSocket, serveApi } from './serve.js';

export async function runPortfwd(a: PortfwdArgs, specs: PortSpec[], log: Logger): Promise<number> {
  const stateDir = a['state-dir'] !== undefined ? resolve(a['state-dir']) : undefined;
  const pid = stateDir !== undefined ? readChildPid(stateDir) : a['netns-pid'] !== undefined ? Number(a['netns-pid']) : undefined;
  if (stateDir !== undefined) await claimApiSocket(stateDir);
  const builtin = a['port-driver'] === 'builtin';
  let ns: TargetNamespace | undefined;
  if (builtin && pid !== undefined) {
    ns = openTargetNamespace(pid);
    log.debug(`targets inside the namespaces of process ${pid}`);
  }
  let driver: PortDriver;
  try {
    driver = createPortDriver(a['port-driver'], {
      ...(ns ? { ns } : { host: true }),
      sourceIPTransparent: a['source-ip-transparent'],
      udpIdleMs: Math.round(a['udp-timeout'] * 1000),
      ...(a['idle-timeout'] > 0 ? { idleMs: Math.round(a['idle-timeout'] * 1000) } : {}),
      ...(a['max-connections'] > 0 ? { maxConns: a['max-connections'] } : {}),
      ...(a['proxy-protocol'] ? { proxy: a['proxy-protocol'] === 'v1' ? 1 : 2 } : {}),
      relay: a.threads > 0 ? { threads: a.threads } : {},
      ...(a['slirp4netns-api-socket'] ? { apiSocket: a['slirp4netns-api-socket'] } : {}),
      ...(a['child-ip'] ? { childIP: a['child-ip'] } : {}),
      log,
    });
  } catch (e) {
    ns?.close();
    throw e;
  }
  let server: { close(): Promise<void> } | undefined;
  const shutdown = async () => {
    await server?.close();
    await driver.close();
    ns?.close();
  };
  try {
    for (const spec of specs) await driver.add(spec);
    if (stateDir !== undefined) server = await serveApi(stateDir, driver, pid, log);
  } catch (e) {
    await shutdown();
    if (e instanceof RkError) throw e;
    throw new RkError((e as Error).message);
  }
  return new Promise<number>((done) => {
    let stopping = false;
    const keepAlive = setInterval(() => {}, 1 << 30);
    const stop = (why: string) => {
      if (stopping) return;
      stopping = true;
      log.debug(`${why}: stopping`);
      clearInterval(keepAlive);
      void shutdown().then(() => done(0));
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    if (ns) whenReadable(ns.pidfd, () => stop(`process ${pid} exited`));
  });
}
