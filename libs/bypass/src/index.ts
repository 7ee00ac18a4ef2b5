export { BYPASS_FLAGS, type BypassArgs } from './flags.js';
export { checkCidrs } from './cidr.js';
export { BYPASS_JSON_FILE, BYPASS_SOCK_FILE, startBypass, type Bypass, type BypassOptions } from './supervisor.js';
export { installBypass } from './install.js';
