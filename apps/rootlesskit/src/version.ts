/** Upstream compatibility level, with our own version as semver build metadata. */
export const SEMVER = '3.0.1';
export const VERSION = `${SEMVER}+ts.0.1.0`;
