import type { MountEntry } from './submounts.js';
import type { PlanStep } from '@rk/native';

/** Mount propagation of "/" inside the mount namespace (mount(8) names). */
export type Propagation = 'rprivate' | 'private' | 'rslave' | 'slave' | 'rshared' | 'shared';

/**
 * How a directory is made writable: tmpfs+symlink (upstream's, the default),
 * overlayfs (an overlay on it; Linux >= 5.11), or auto (overlayfs where the
 * kernel mounts it, tmpfs+symlink for a directory where it refuses).
 */
export type CopyUpMode = 'tmpfs+symlink' | 'overlayfs' | 'auto';
/** What a directory got: auto resolves to one of these per directory. */
export type CopyUpDriver = 'tmpfs+symlink' | 'overlayfs';

export const PROPAGATIONS: readonly Propagation[] = ['rprivate', 'private', 'rslave', 'slave', 'rshared', 'shared'];
export const COPY_UP_MODES: readonly CopyUpMode[] = ['tmpfs+symlink', 'overlayfs', 'auto'];
/** Upstream's, for drop-in compatibility (docs/copy-up.md says why auto is not the default). */
export const DEFAULT_COPY_UP_MODE: CopyUpMode = 'tmpfs+symlink';

export interface CopyUpOptions {
  /** Absolute directories to make writable, in the order given. */
  dirs: string[];
  /** Default tmpfs+symlink (DEFAULT_COPY_UP_MODE). */
  mode?: CopyUpMode;
  /** Propagation set on "/" before anything else; none when omitted (the caller has set it). */
  propagation?: Propagation;
  /**
   * Absolute paths directly below a copied-up directory that become empty
   * directories of their own on its tmpfs (made when absent; an original
   * entry of that name is hidden, not symlinked), e.g. /var/lib/docker for a
   * rootless dockerd (apps/rootlesskit/src/docker.ts).
   */
  emptyDirs?: string[];
  /** The mounts of the process that will run the plan (overlay copy-up puts the ones below a directory back on top); default: this process's. */
  mounts?: MountEntry[];
}

export interface MountPlan {
  /** Steps for @rk/native runPlan, or for the plan of a spawned child. */
  steps: PlanStep[];
  /** What step i does and why, for error messages. */
  describe(i: number): string;
}
