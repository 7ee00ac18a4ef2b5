// rk-bypass's flags, declared once for the fast parser and the full parser.
import type { FlagTable } from '@rk/cli/fast';
import { BYPASS_FLAGS } from '@rk/bypass/flags';

export const FLAGS = {
  debug: { type: 'boolean', default: false, describe: 'print debug messages on stderr (with --supervise: one line per bypassed connection)' },
  'state-dir': { type: 'string', describe: 'state dir of the namespace (rk-unshare --state-dir): DIR/bypass.sock joins the two sides, DIR/child_pid names the namespace' },
  supervise: { type: 'boolean', default: false, describe: 'run the supervisor (outside the namespace) until every filtered process is gone, the namespace\'s child exits, or a signal' },
  'bypass-ignore': { ...BYPASS_FLAGS['bypass-ignore'], group: undefined, describe: 'with --supervise: a subnet (CIDR) never bypassed, e.g. 192.168.0.0/16' },
  'bypass-nested': { ...BYPASS_FLAGS['bypass-nested'], group: undefined, describe: "with --supervise: also bypass sockets of nested network namespaces (Docker's bridge containers); their own routes and firewall are then skipped" },
} as const satisfies FlagTable;

export interface BypassCmdArgs {
  debug: boolean;
  'state-dir'?: string;
  supervise: boolean;
  'bypass-ignore': string[];
  'bypass-nested': boolean;
  _: string[];
  '--'?: string[];
}
