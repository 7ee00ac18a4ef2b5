export {
  API_VERSION,
  ApiError,
  type Info,
  type NetworkDriverInfo,
  type PortDriverInfo,
  type PortManager,
  type PortSpec,
  type PortStatus,
} from './types.js';
export { parsePortSpec, formatPortSpec, validatePortSpec, socketPathProblem, ipOnlyDriverProblem, PROTOS, PROXY_PROTOCOLS, PORT_SPEC_FORM, UNIX_SPEC_FORM } from './spec.js';
export { startApiServer, decodePortSpec, type ApiServer, type ApiServerOptions } from './server.js';
export { ApiClient } from './client.js';
export { toJson, canonicalInfo, canonicalSpec, canonicalStatus } from './json.js';
