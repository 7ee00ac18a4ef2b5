// What to do when a mount plan step fails for a reason the kernel decides:
// the words rk-copyup and rootlesskit's child both give.

/** "; fix…" for a failed step of op `op` with errno name `code`, or "". */
export function planStepHint(op: string | undefined, code: string | undefined): string {
  if (op === 'overlay') {
    return (
      '; the kernel refused the overlay (overlayfs in a user namespace needs Linux 5.11 or later, and cannot take as lower layer ' +
      'a directory with mounts below it from outside the namespace, e.g. /run/user/UID, nor an overlay stacked twice already): ' +
      'use --copy-up-mode=auto (tmpfs+symlink where the overlay is refused) or --copy-up-mode=tmpfs+symlink'
    );
  }
  if (code === 'ENOSYS' && (op === 'cloneTree' || op === 'moveTree' || op === 'cloneFrom')) {
    return '; this kernel lacks open_tree/move_mount (Linux 5.2 or later is needed)';
  }
  return '';
}
