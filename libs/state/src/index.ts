export { StateDir, LOCK_FILE, LOCK_MARKER, CHILD_PID_FILE, API_SOCK_FILE, STATE_FILES, STATE_FILE_KINDS, defaultParent, removeEmptyDir } from './state-dir.js';
export { readChildPid } from './child-pid.js';
export { GATE_FIFO, createGate, releaseGate } from './gate.js';
