export { RkError, messageOf, exitCodeOf } from './errors.js';
export { Logger } from './log.js';
export { runMain } from './main.js';
export { randomSuffix } from './random.js';
export { commandOf } from './command-of.js';
export { inherited, parseInherited, INHERITED_ARG, type Inherited } from './inherited.js';
export { rawArgs, rawCommand, rawEnv, shown } from './raw.js';
