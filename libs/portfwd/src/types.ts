import type { PortDriverInfo, PortManager, PortSpec, PortStatus } from '@rk/api';

/** A port driver: the API's PortManager, plus what rootlesskit and rk-portfwd need. */
export interface PortDriver extends PortManager {
  /** For GET /v1/info's portDriver. */
  info(): PortDriverInfo;
  list(): PortStatus[];
  add(spec: PortSpec): Promise<PortStatus>;
  remove(id: number): Promise<void>;
  /** Removes every port (and what it set up in the namespace) and releases the driver's resources. */
  close(): Promise<void>;
  /** The forwarder behind the driver was restarted (e.g. slirp4netns): sets every port up again, ids unchanged. */
  restore?(): Promise<void>;
}
