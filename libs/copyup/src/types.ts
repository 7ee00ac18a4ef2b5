import type { PlanStep } from '@rk/native';

/** Mount propagation of "/" inside the mount namespace (mount(8) names). */
export type Propagation = 'rprivate' | 'private' | 'rslave' | 'slave' | 'rshared' | 'shared';

/** How a directory is made writable. Only tmpfs+symlink exists so far. */
export type CopyUpMode = 'tmpfs+symlink';

export const PROPAGATIONS: readonly Propagation[] = ['rprivate', 'private', 'rslave', 'slave', 'rshared', 'shared'];
export const COPY_UP_MODES: readonly CopyUpMode[] = ['tmpfs+symlink'];

export interface CopyUpOptions {
  /** Absolute directories to make writable, in the order given. */
  dirs: string[];
  /** Default tmpfs+symlink. */
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
}

export interface MountPlan {
  /** Steps for @rk/native runPlan, or for the plan of a spawned child. */
  steps: PlanStep[];
  /** What step i does and why, for error messages. */
  describe(i: number): string;
}
