// rk-net: start the driver for the namespace, then wait for the namespace to
// empty, the driver to give up (its helper is restarted when it dies, until
// it dies too often: status 1, the driver logged why), or a signal to stop us.
import { basename } from 'node:path';
import { RkError, type Logger } from '@rk/cli';
import { NET_JSON, netGaveUp, openStateFiles, resolveNetConfig, startNetwork, whenNamespaceEmpty, driverFor } from '@rk/net';
import { readChildPid, releaseGate } from '@rk/state';
import type { NetArgs } from './flags.js';

function parsePid(text: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(text)) throw new RkError(`not a PID: ${JSON.stringify(text)} (a decimal process ID)`, 2);
  return Number(text);
}

export async function runNet(a: NetArgs, log: Logger): Promise<number> {
  const cfg = resolveNetConfig({ ...a, net: a.net! }, a['port-driver'] ?? 'none', (m) => log.warn(m));
  const stateDir = a['state-dir'];
  const pid = stateDir !== undefined ? readChildPid(stateDir) : parsePid(String((a as { pid?: unknown }).pid ?? [...a._, ...(a['--'] ?? [])][0]));
  await driverFor(cfg.driver).preflight?.(cfg, log);
  const files = stateDir !== undefined ? openStateFiles(stateDir) : undefined;
  const net = await startNetwork(pid, cfg, { files, log });
  const stopSignals = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGHUP', () => resolve('SIGHUP'));
  });
  if (a.release) {
    try {
      releaseGate(stateDir!);
    } catch (e) {
      await net.stop();
      throw e;
    }
  }
  const why = await Promise.race([
    net.ended.then((reason) => ({ failed: true, reason })),
    whenNamespaceEmpty(net.lifetime.kind, net.lifetime.inode, pid).then(() => ({ failed: false, reason: 'the namespace has no process left' })),
    stopSignals.then((sig) => ({ failed: false, reason: `got ${sig}` })),
  ]);
  log.debug(`stopping: ${why.reason}`);
  await net.stop();
  if (files) {
    for (const f of [NET_JSON, ...Object.values(net.info.sockets).map((p) => basename(p))]) files.remove(f);
    files.close();
  }
  if (why.failed) netGaveUp(net, cfg.driver, why.reason, log);
  return why.failed ? 1 : 0;
}
