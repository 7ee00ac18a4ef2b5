// DIR/api.sock for rk-portfwd --state-dir: the ports API (upstream's REST API,
// so upstream's rootlessctl works too), reachable only by its owner.
import { chmodSync, existsSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { RkError, type Logger } from '@rk/cli';
import { API_VERSION, startApiServer, type ApiServer } from '@rk/api';
import type { PortDriver } from '@rk/portfwd';

export const VERSION = '0.1.0';

/** Whether something answers on the socket (a live server, not a stale file). */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** Refuses a DIR/api.sock that something serves; removes a stale one. */
export async function claimApiSocket(dir: string): Promise<void> {
  const path = join(dir, 'api.sock');
  if (!existsSync(path)) return;
  if (await answers(path)) {
    throw new RkError(`${path} is already served (by rootlesskit or another rk-portfwd): use "rootlessctl --socket ${path}" to add ports there instead`);
  }
  rmSync(path, { force: true });
}

export async function serveApi(dir: string, driver: PortDriver, childPid: number | undefined, log: Logger): Promise<ApiServer> {
  const path = join(dir, 'api.sock');
  const umask = process.umask(0o177); // the socket is made srw------- (no window with wider bits)
  let server: ApiServer;
  try {
    server = await startApiServer({
      socketPath: path,
      info: () => ({ apiVersion: API_VERSION, version: VERSION, stateDir: dir, childPID: childPid ?? 0, portDriver: driver.info() }),
      ports: driver,
    });
  } finally {
    process.umask(umask);
  }
  chmodSync(path, 0o600);
  log.debug(`serving the ports API on ${path}`);
  return server;
}
