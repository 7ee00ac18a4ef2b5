export { StateDir, LOCK_FILE, CHILD_PID_FILE, API_SOCK_FILE, STATE_FILES } from './state-dir.js';
export { readChildPid } from './child-pid.js';
export { GATE_FIFO, createGate, releaseGate } from './gate.js';
