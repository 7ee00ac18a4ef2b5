// Why a user namespace could not be made (or is powerless), as one line that
// ends in the command that fixes it. The sysctls are read from /proc/sys (a
// user namespace sees its own user.max_user_namespaces).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function sysctl(dir: string, name: string): string | undefined {
  try {
    return readFileSync(join(dir, name), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** A value for user.max_user_namespaces to suggest (Ubuntu's default; any positive number allows some). */
const MAX_USERNS = 28633;
const APPARMOR = 'kernel/apparmor_restrict_unprivileged_userns';

/**
 * Why creating a user namespace failed, as one line naming the sysctl to
 * change. `code` is the errno name clone(2) returned.
 */
export function explainUsernsFailure(code: string, sysctlDir = '/proc/sys'): string {
  if (sysctl(sysctlDir, 'kernel/unprivileged_userns_clone') === '0') {
    return 'unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone=0): sudo sysctl -w kernel.unprivileged_userns_clone=1';
  }
  const max = sysctl(sysctlDir, 'user/max_user_namespaces');
  if (max === '0') {
    return `user namespaces are disabled (user.max_user_namespaces=0): sudo sysctl -w user.max_user_namespaces=${MAX_USERNS}`;
  }
  if (code === 'ENOSPC') {
    const more = Number(max) > 0 ? Math.max(Number(max) * 2, MAX_USERNS) : MAX_USERNS;
    return `too many user namespaces (the limit user.max_user_namespaces=${max ?? '?'} is reached): sudo sysctl -w user.max_user_namespaces=${more}`;
  }
  if (sysctl(sysctlDir, APPARMOR) === '1') {
    return `AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1): sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`;
  }
  return `cannot create a user namespace (${code}): check kernel.unprivileged_userns_clone, user.max_user_namespaces and kernel.apparmor_restrict_unprivileged_userns`;
}

/** A hint to add when an operation inside a fresh user namespace got EPERM (AppArmor lets the namespace be made, powerless). */
export function appArmorHint(sysctlDir = '/proc/sys'): string {
  return sysctl(sysctlDir, APPARMOR) === '1'
    ? ' (AppArmor restricts unprivileged user namespaces: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0)'
    : '';
}
