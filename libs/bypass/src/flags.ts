// The bypass's flags, shared by rootlesskit and rk-bypass.
import type { FlagTable } from '@rk/cli/fast';

export const BYPASS_FLAGS = {
  bypass: {
    type: 'boolean',
    default: false,
    describe: 'connect() of TCP/UDP sockets to destinations that leave the namespace by its default route get a socket of the host instead (see docs/bypass.md)',
    group: 'Network:',
  },
  'bypass-ignore': { type: 'string', array: true, default: [], describe: 'with --bypass: a subnet (CIDR) never bypassed, e.g. 192.168.0.0/16', group: 'Network:' },
  'bypass-nested': { type: 'boolean', default: false, describe: "with --bypass: also bypass sockets of nested network namespaces (Docker's bridge containers); their own routes and firewall are then skipped", group: 'Network:' },
} as const satisfies FlagTable;

export interface BypassArgs {
  bypass: boolean;
  'bypass-ignore': string[];
  'bypass-nested': boolean;
}
