export { RkError, messageOf, exitCodeOf } from './errors.js';
export { Logger } from './log.js';
export { runMain } from './main.js';
