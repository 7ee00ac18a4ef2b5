// --net=none: a network namespace with only loopback, brought up.
import { configureLoopback } from '../configure.js';
import type { NetDriver } from '../types.js';

export const none: NetDriver = {
  name: 'none',
  defaultMtu: 0,
  defaultIfname: 'lo',
  async start(t, cfg) {
    configureLoopback(t);
    return {
      info: { driver: 'none', ifname: 'lo', mtu: 65536, ip: '127.0.0.1', prefix: 8, gateway: '', dns: [], hostLoopback: false, sockets: {} },
      ended: new Promise<string>(() => {}),
      async stop() {},
    };
  },
};
