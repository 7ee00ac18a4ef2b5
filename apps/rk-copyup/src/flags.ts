// rk-copyup's flags, declared once for the fast parser (yargs-parser) and
// the full yargs parser (help, --version, usage errors). The values of
// --propagation and --copy-up-mode are checked by @rk/copyup.
import type { FlagTable } from '@rk/cli/fast';

const PROPAGATIONS = ['rprivate', 'private', 'rslave', 'slave', 'rshared', 'shared'];

export const FLAGS = {
  debug: { type: 'boolean', default: false, describe: 'print debug messages on stderr' },
  propagation: {
    type: 'string',
    default: 'rprivate',
    values: PROPAGATIONS,
    describe: `mount propagation set on / first: ${PROPAGATIONS.join(', ')} (rshared and shared cannot be used with --copy-up)`,
  },
  'copy-up': { type: 'string', array: true, default: [], describe: 'absolute directory to make writable (repeatable)' },
  'copy-up-mode': {
    type: 'string',
    alias: 'mode',
    default: 'tmpfs+symlink',
    values: ['tmpfs+symlink', 'overlayfs', 'auto'],
    describe: 'how --copy-up works: tmpfs+symlink (upstream\'s), overlayfs (Linux >= 5.11), or auto (overlayfs, else tmpfs+symlink, per directory); see docs/copy-up.md',
  },
  sysfs: { type: 'boolean', default: false, describe: 'mount a fresh /sys (for a new network namespace: /sys/class/net shows its interfaces), keeping /sys/fs/cgroup' },
  'state-dir': { type: 'string', describe: 'bind DIR/resolv.conf and DIR/hosts (written by rk-net --state-dir DIR) over /etc/resolv.conf and /etc/hosts' },
} as const satisfies FlagTable;

export interface CopyUpArgs {
  debug: boolean;
  propagation: string;
  'copy-up': string[];
  'copy-up-mode': string;
  sysfs: boolean;
  'state-dir'?: string;
  _: string[];
  '--'?: string[];
}
