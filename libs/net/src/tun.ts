// /dev/net/tun must be openable by the caller for every driver that makes a
// tap (ours, slirp4netns, pasta): checked before a driver starts, so that the
// error names the fix instead of a helper's "child failed(1)".
import { closeSync, existsSync, openSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname } from 'node:path';
import { RkError } from '@rk/cli';

export const TUN = '/dev/net/tun';

/** Drivers whose tap is opened through /dev/net/tun (lxc-user-nic makes a veth; none and host nothing). */
export const TUN_DRIVERS: ReadonlySet<string> = new Set(['builtin', 'gvisor-tap-vsock', 'slirp4netns', 'pasta', 'vdeplug_slirp', 'vpnkit']);

function who(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.geteuid!()}`;
  }
}

/** The one-line reason and command for a failed open of /dev/net/tun. */
export function tunProblem(code: string | undefined, path = TUN): string {
  if (code === 'ENOENT') {
    const make = `mknod -m 0666 ${path} c 10 200`;
    return existsSync(dirname(path))
      ? `${path} does not exist: sudo ${make}`
      : `${path} does not exist: sudo sh -c 'mkdir -p ${dirname(path)} && ${make}'`;
  }
  if (code === 'EACCES' || code === 'EPERM') {
    let mode = '';
    try {
      mode = (statSync(path).mode & 0o7777).toString(8).padStart(4, '0');
    } catch {
      // unknown
    }
    if (mode && (parseInt(mode, 8) & 0o006) === 0o006) {
      return `${path} (mode ${mode}) cannot be opened (${code}): a device cgroup or a security module denies it (in a container, pass the device: docker run --device ${path} ...)`;
    }
    return `${path}${mode ? ` (mode ${mode})` : ''} cannot be opened by ${who()} (${code}): sudo chmod 0666 ${path}`;
  }
  if (code === 'ENODEV' || code === 'ENXIO') return `${path} has no driver behind it (${code}): sudo modprobe tun`;
  return `cannot open ${path} (${code ?? 'unknown error'})`;
}

/** Throws an RkError naming the fix when the caller cannot open /dev/net/tun read-write. */
export function checkTun(path = TUN): void {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (e) {
    throw new RkError(tunProblem((e as NodeJS.ErrnoException).code, path));
  }
  closeSync(fd);
}
