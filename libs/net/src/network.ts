// Starting a network driver for a process: the one implementation rk-net and
// rootlesskit share. Opens the namespaces (pinned to the process), makes the
// detached netns when asked, starts the driver, writes STATE/resolv.conf,
// STATE/hosts and STATE/net.json, then lets go of the namespace fds (a driver
// keeps what it made inside, and, when it restarts its helper, copies of its
// own: holdTarget).
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@rk/cli';
import { driverFor } from './drivers/index.js';
import { NET_JSON, netJson, writeNetFiles, type StateFiles } from './files.js';
import { openDetachedTarget, openTarget } from './target.js';
import { TUN_DRIVERS, checkTun } from './tun.js';
import type { NetConfig, RunningNet } from './types.js';

export interface StartedNetwork extends RunningNet {
  /** The namespace whose processes keep it alive: net (or, detached, the child's mnt) and its inode. */
  lifetime: { kind: 'net' | 'mnt'; inode: number };
}

export async function startNetwork(pid: number, cfg: NetConfig, opts: { files?: StateFiles; log: Logger }): Promise<StartedNetwork> {
  const stateDir = opts.files?.dir;
  const driver = driverFor(cfg.driver);
  if (cfg.detachNetns && !stateDir) throw new Error('--detach-netns needs a state dir');
  if (TUN_DRIVERS.has(cfg.driver)) checkTun();
  const target = cfg.detachNetns ? openDetachedTarget(pid, stateDir!) : openTarget(pid, stateDir);
  target.files = opts.files;
  let running: RunningNet;
  try {
    running = await driver.start(target, cfg, opts.log);
  } finally {
    target.close();
  }
  if (cfg.detachNetns) running.info.netns = join(stateDir!, 'netns');
  try {
    if (opts.files) writeNetFiles(opts.files, running.info);
  } catch (e) {
    await running.stop();
    throw e;
  }
  // A restarted helper has a new PID: net.json says so, last, once the rest
  // (the ports) is set up again (resolv.conf and hosts stay: they are bound
  // inside, and their contents did not change).
  const files = opts.files;
  if (files) running.onRestart?.(() => files.write(NET_JSON, netJson(running.info)), true);
  opts.log.debug(`network driver ${cfg.driver} up: ${running.info.ip}/${running.info.prefix} via ${running.info.gateway} on ${running.info.ifname}`);
  const lifetime = cfg.detachNetns ? { kind: 'mnt' as const, inode: mntInode(pid) } : { kind: 'net' as const, inode: target.netInode };
  return Object.assign(running, { lifetime });
}

function mntInode(pid: number): number {
  return statSync(`/proc/${pid}/ns/mnt`).ino;
}

/**
 * Logs a driver's giving up unless it did so itself (drivers under
 * supervise.ts do): "network driver X stopped: REASON; CMD keeps running
 * without network". Nothing for "stopped" (our own stop()).
 */
export function netGaveUp(net: RunningNet, driver: string, reason: string, log: Logger): void {
  if (reason === 'stopped') return;
  if (net.onRestart) log.debug(`network driver ${driver} gave up: ${reason}`);
  else log.error(`network driver ${driver} stopped: ${reason}; CMD keeps running without network`);
}
