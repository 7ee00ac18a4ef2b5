// rootlessctl's flags and subcommands, declared once for the fast parser
// (yargs-parser), the full yargs parser (help, --version, usage errors) and
// the bash completion (hack/completion.mjs reads FLAGS and SUBCOMMANDS).
import type { FlagTable } from '@rk/cli/fast';
import { PORT_SPEC_FORM, UNIX_SPEC_FORM } from '@rk/api';

/** Global flags: before the subcommand (as upstream) or after it. */
export const FLAGS = {
  socket: {
    type: 'string',
    describe: "api.sock in rootlesskit's --state-dir",
    defaultText: '$ROOTLESSKIT_STATE_DIR/api.sock',
  },
  debug: { type: 'boolean', default: false, describe: 'print debug messages on stderr' },
} as const satisfies FlagTable;

/** No words of its own besides a subcommand (for the bash completion). */
export const POSITIONAL = 'none';

export interface Subcommand {
  describe: string;
  flags: FlagTable;
  /** What the words after the subcommand are: none, or the name of a variadic positional. */
  positional: 'none' | 'spec' | 'id';
  positionalDescribe?: string;
}

export const SUBCOMMANDS = {
  'list-ports': {
    describe: 'List ports',
    flags: { json: { type: 'boolean', default: false, describe: 'print one JSON object per port' } },
    positional: 'none',
  },
  'add-ports': {
    describe: 'Add ports',
    flags: { json: { type: 'boolean', default: false, describe: 'print each new port as JSON instead of its ID' } },
    positional: 'spec',
    positionalDescribe: `${PORT_SPEC_FORM}[,proxy-protocol=v1|v2|none], or with a socket file (proto unix, builtin port driver) ${UNIX_SPEC_FORM}`,
  },
  'remove-ports': {
    describe: 'Remove ports',
    flags: {},
    positional: 'id',
    positionalDescribe: 'port IDs, as list-ports shows them',
  },
  info: {
    describe: 'Show info',
    flags: { json: { type: 'boolean', default: false, describe: 'print as JSON' } },
    positional: 'none',
  },
} as const satisfies Record<string, Subcommand>;

export type SubcommandName = keyof typeof SUBCOMMANDS;

/** What a parse gives the actions, from either parser. */
export interface CtlArgs {
  command: SubcommandName;
  socket?: string;
  debug: boolean;
  json: boolean;
  /** The words after the subcommand (specs for add-ports, IDs for remove-ports). */
  words: string[];
}
