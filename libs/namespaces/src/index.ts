export { resolveCommand, envList } from './command.js';
export { Child, execError, type StartOptions, type ExitStatus } from './child.js';
export { cloneFlags, namespaceNames, type NamespaceSet } from './flags.js';
export { forwardSignals } from './signals.js';
export { errnoName, signalName } from './errno.js';
export { explainUsernsFailure, appArmorHint } from './diagnose.js';
export { procPlan } from './proc.js';
export { evacuateCgroup2, cgroup2Mount, ownCgroup2Path } from './cgroup.js';
export { sysfsPlan } from './sysfs.js';
