// The files a network driver leaves in the state dir for the child and for
// other tools: resolv.conf and hosts (bound over /etc/resolv.conf and
// /etc/hosts inside) and net.json (what the driver set up).
import { closeSync, readFileSync, writeSync } from 'node:fs';
import { RkError } from '@rk/cli';
import { constants as c, openAt, statAt, unlinkAt } from '@rk/native';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { NetInfo, StateFiles } from './types.js';

export type { StateFiles };

export const RESOLV_CONF = 'resolv.conf';
export const HOSTS = 'hosts';
export const NET_JSON = 'net.json';

export function resolvConfText(dns: string[]): string {
  return dns.map((d) => `nameserver ${d}\n`).join('');
}

/** The host's /etc/hosts plus the host name on loopback (as upstream). */
export function hostsText(): string {
  let base = '';
  try {
    base = readFileSync('/etc/hosts', 'utf8');
  } catch {
    // no /etc/hosts: only our lines
  }
  const name = hostname();
  return `${base}\n127.0.0.1 ${name}\n::1 ${name}\n`;
}


/**
 * A state dir another command made (e.g. rk-unshare's), opened by fd for our
 * files: it must be the caller's own and not writable by group or others.
 */
export function openStateFiles(path: string): StateFiles & { close(): void } {
  let fd: number;
  try {
    fd = openAt(c.AT_FDCWD, path, c.O_RDONLY | c.O_DIRECTORY);
  } catch (e) {
    throw new RkError(`cannot open the state dir ${path} (${(e as NodeJS.ErrnoException).code}): is a command running with --state-dir ${path}?`);
  }
  const st = statAt(fd, '');
  const me = process.geteuid!();
  if (st.uid !== me || (st.mode & 0o022) !== 0) {
    closeSync(fd);
    throw new RkError(`state dir ${path} must be yours and writable only by you (owner uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8)}): use the dir rk-unshare --state-dir made`);
  }
  const files: StateFiles & { close(): void } = {
    dir: path,
    write(name, text, mode = 0o644) {
      files.remove(name);
      const f = openAt(fd, name, c.O_WRONLY | c.O_CREAT | c.O_EXCL | c.O_NOFOLLOW, mode);
      try {
        writeSync(f, text);
      } finally {
        closeSync(f);
      }
    },
    remove(name) {
      try {
        unlinkAt(fd, name, false);
      } catch {
        // not there
      }
    },
    close: () => closeSync(fd),
  };
  return files;
}

/** The empty STATE/resolv.conf and STATE/hosts the child's mount plan binds (filled once the driver is up). */
export function netFilePaths(dir: string): { resolvConf: string; hosts: string } {
  return { resolvConf: join(dir, RESOLV_CONF), hosts: join(dir, HOSTS) };
}

/** resolv.conf and hosts, then (last: its presence says the network is up) net.json. */
export function writeNetFiles(files: StateFiles, info: NetInfo): void {
  files.write(RESOLV_CONF, resolvConfText(info.dns));
  files.write(HOSTS, hostsText());
  files.write(NET_JSON, netJson(info));
}

export function netJson(info: NetInfo): string {
  return `${JSON.stringify(info, null, 2)}\n`;
}
