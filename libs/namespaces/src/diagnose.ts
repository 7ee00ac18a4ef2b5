import { readFileSync } from 'node:fs';

function sysctl(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Why creating a user namespace failed, as one line naming the sysctl to
 * change. `code` is the errno name clone(2) returned.
 */
export function explainUsernsFailure(code: string): string {
  if (sysctl('/proc/sys/kernel/unprivileged_userns_clone') === '0') {
    return 'unprivileged user namespaces are disabled: sudo sysctl -w kernel.unprivileged_userns_clone=1';
  }
  const max = sysctl('/proc/sys/user/max_user_namespaces');
  if (max === '0') {
    return 'user namespaces are disabled (user.max_user_namespaces=0): sudo sysctl -w user.max_user_namespaces=28633';
  }
  if (code === 'ENOSPC') {
    return `too many user namespaces (user.max_user_namespaces=${max ?? '?'} reached): raise it, e.g. sudo sysctl -w user.max_user_namespaces=28633`;
  }
  if (sysctl('/proc/sys/kernel/apparmor_restrict_unprivileged_userns') === '1') {
    return 'AppArmor restricts unprivileged user namespaces: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (or give node an AppArmor profile with "userns,")';
  }
  return `cannot create a user namespace (${code}): check kernel.unprivileged_userns_clone, user.max_user_namespaces and kernel.apparmor_restrict_unprivileged_userns`;
}

/** A hint to add when an operation inside a fresh user namespace got EPERM. */
export function appArmorHint(): string {
  return sysctl('/proc/sys/kernel/apparmor_restrict_unprivileged_userns') === '1'
    ? ' (AppArmor restricts unprivileged user namespaces: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0)'
    : '';
}
