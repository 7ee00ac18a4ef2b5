// --port-driver and -p: the port driver (libs/portfwd, loaded only when one
// is asked for) and the ports published before child_pid is written.
import { RkError, type Logger } from '@rk/cli';
import { parsePortSpec } from '@rk/api/spec';
import type { PortDriver } from '@rk/portfwd';
import type { Args } from './flags.js';

/** Parses every -p (as upstream: a bad one is a flag error, exit 1). */
export function checkPublish(a: Args): void {
  for (const s of a.publish) {
    try {
      parsePortSpec(s);
    } catch (e) {
      throw new RkError((e as Error).message, 1);
    }
  }
}

/** Starts the port driver and publishes -p; undefined for --port-driver=none. */
export async function startPorts(a: Args, childPid: number, log: Logger): Promise<PortDriver | undefined> {
  if (a['port-driver'] === 'none') return undefined;
  const { createPortDriver } = await import('@rk/portfwd');
  const driver = createPortDriver(a['port-driver'], {
    childPid,
    sourceIPTransparent: a['source-ip-transparent'],
    log: log.withPrefix(`[rootlesskit:port/${a['port-driver']}]`),
  });
  try {
    for (const s of a.publish) {
      const st = await driver.add(parsePortSpec(s));
      log.debug(`published ${s} as port ${st.id}`);
    }
  } catch (e) {
    await driver.close();
    throw new RkError(`cannot publish a port: ${(e as Error).message}`);
  }
  return driver;
}
