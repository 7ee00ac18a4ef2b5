// @rk/idmap: the caller's subordinate ID ranges (/etc/subuid,subgid or
// getsubids) and writing a process's uid_map/gid_map from them.
export type { SubidSource, IdRange, IdMapLine, IdMaps, ComputeOptions } from './types.js';
export { parseSubidFile } from './subid-file.js';
export { computeIdMaps } from './compute.js';
export { formatIdMap } from './format.js';
export { writeIdMaps, writeRootOnlyMaps } from './write.js';
