// rk-copyup: inside a mount namespace, set propagation, copy up directories
// (tmpfs+symlink or overlayfs), then exec CMD.
import { Logger, RkError, runMain, commandOf, inherited, rawCommand, rawEnv, shown } from '@rk/cli';
import { copyUpDrivers, copyUpPlan, resolveCopyUp, validateCopyUp, type CopyUpMode, type CopyUpOptions, type Propagation } from '@rk/copyup';
import { resolveCommand } from '@rk/namespaces';
import { parseCopyUpArgs } from './args.js';
import { execCommand, executePlan } from './run.js';
import { unsafeMountNamespace } from './safety.js';
import { withNetwork } from './network.js';

const log = new Logger('rk-copyup');

runMain(log, async () => {
  const args = await parseCopyUpArgs(process.argv.slice(2));
  log.debugEnabled = args.debug;
  // Values are checked by validateCopyUp (one-line errors naming the choices).
  const opts: CopyUpOptions = {
    dirs: args['copy-up'],
    mode: args['copy-up-mode'] as CopyUpMode,
    propagation: args.propagation as Propagation,
  };
  validateCopyUp(opts);
  const cmd = rawCommand(commandOf(args, [process.env.SHELL || '/bin/sh']));
  const file = resolveCommand(cmd[0]!);
  const unsafe = unsafeMountNamespace();
  if (unsafe !== undefined) {
    throw new RkError(
      `refusing to mount: ${unsafe}, and the mounts would change the whole system; start rk-copyup directly as the command of a new mount namespace, e.g. rk-unshare --user --mount --map-auto -- rk-copyup ... or unshare --mount -- rk-copyup ...`,
      1,
    );
  }
  const plan = withNetwork(copyUpPlan(opts), args, log);
  executePlan(plan, log);
  if (opts.mode === 'auto' && log.debugEnabled) {
    for (const d of copyUpDrivers(resolveCopyUp(opts).dirs.map((x) => x.path), 'auto')) {
      log.debug(`--copy-up-mode=auto: ${d.path}: ${d.driver === 'overlayfs' ? 'overlayfs' : 'tmpfs+symlink (the kernel refused the overlay)'}`);
    }
  }
  log.debug(`exec ${shown(file)} ${JSON.stringify(cmd.map(shown))}`);
  // CMD gets our environment byte for byte and the signal dispositions and
  // mask our caller gave us (Node reset them; the bin's sh part saw them).
  execCommand(file, cmd, rawEnv(), inherited());
});
