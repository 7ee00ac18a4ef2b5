// The shapes exchanged over STATE/api.sock. Field names and which fields may be
// left out follow upstream RootlessKit's REST API (v1, API version 1.1.1).

/** REST API version this implementation speaks. */
export const API_VERSION = '1.1.1';

/**
 * One forwarded port: PARENTIP:PARENTPORT on the host → CHILDIP:CHILDPORT in the namespace.
 * Ours beside upstream's fields (upstream's clients ignore them): proto "unix" with
 * parentPath (a socket file on the host, instead of parentIP/parentPort) and/or
 * childPath (a socket file in the namespace's mount namespace, instead of
 * childIP/childPort); proxyProtocol for one port.
 */
export interface PortSpec {
  /** tcp, tcp4, tcp6, udp, udp4, udp6, sctp, sctp4, sctp6, or unix (a socket file on one side or both) */
  proto: string;
  /** host address to listen on; absent means all addresses */
  parentIP?: string;
  parentPort: number;
  /** address inside the namespace; absent means the port driver's default */
  childIP?: string;
  childPort: number;
  /** proto unix: the socket file to listen on, on the host (absolute path). */
  parentPath?: string;
  /** proto unix: the socket file to connect to, in the namespace's mount namespace (absolute path). */
  childPath?: string;
  /** Streams: "v1" or "v2" writes the PROXY protocol header to the target; "none" overrides the process default. */
  proxyProtocol?: string;
}

/** A port the port driver has set up, with the id to remove it by. */
export interface PortStatus {
  id: number;
  spec: PortSpec;
}

export interface NetworkDriverInfo {
  driver: string;
  dns?: string[];
  childIP?: string;
  dynamicChildIP?: boolean;
}

export interface PortDriverInfo {
  driver: string;
  protos: string[];
  disallowLoopbackChildIP?: boolean;
}

/** GET /v1/info */
export interface Info {
  apiVersion: string;
  version: string;
  stateDir: string;
  childPID: number;
  networkDriver?: NetworkDriverInfo;
  portDriver?: PortDriverInfo;
  /**
   * Ours (upstream's /v1/info has no such field; named like networkDriver and
   * portDriver so it could adopt it): present with --copy-up. driver is the
   * --copy-up-mode given; each dir says what it got (auto resolves per dir).
   */
  copyUpDriver?: CopyUpDriverInfo;
  /** Ours (not upstream's): present when --bypass is on, with the supervisor's counters. */
  bypass?: BypassInfo;
}

export interface CopyUpDriverInfo {
  driver: string;
  dirs: Array<{ path: string; driver: string }>;
}

/** Connections as the bypass supervisor counted them since start. */
export interface BypassInfo {
  enabled: boolean;
  /** Answered with a host socket. */
  bypassed: number;
  /** Left in the namespace: their destination does not leave by its default route (loopback, on-link, ignored, nested). */
  left: number;
  /** Left in the namespace because bypass could not be faithful (bound socket, SO_BINDTODEVICE, not TCP/UDP, budget). */
  fallback: number;
  /** Bypassed connects that failed (e.g. ECONNREFUSED); the caller got the error, its socket unchanged. */
  failed: number;
  inFlight: number;
  listeners: number;
  budgetHits: number;
}

/**
 * What the server needs from a port driver. Failures are thrown as ApiError
 * (400 for bad input, a conflict or an unknown id); anything else becomes 500.
 */
export interface PortManager {
  list(): PortStatus[] | Promise<PortStatus[]>;
  add(spec: PortSpec): Promise<PortStatus>;
  remove(id: number): Promise<void>;
}

/** An error with an HTTP status: thrown by a PortManager, or by ApiClient for a non-2xx answer. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}
