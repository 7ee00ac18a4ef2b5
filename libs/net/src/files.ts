// The files a network driver leaves in the state dir for the child and for
// other tools: resolv.conf and hosts (bound over /etc/resolv.conf and
// /etc/hosts inside) and net.json (what the driver set up).
import { closeSync, constants as fsc, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { NetInfo } from './types.js';

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

/** Creates DIR/name afresh (never through a symlink, never appending to someone else's file). */
export function writeStateFile(dir: string, name: string, text: string, mode = 0o644): void {
  const path = join(dir, name);
  try {
    unlinkSync(path);
  } catch {
    // not there
  }
  const fd = openSync(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, mode);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/** The empty STATE/resolv.conf and STATE/hosts the child's mount plan binds (filled once the driver is up). */
export function netFilePaths(dir: string): { resolvConf: string; hosts: string } {
  return { resolvConf: join(dir, RESOLV_CONF), hosts: join(dir, HOSTS) };
}

export function writeNetFiles(dir: string, info: NetInfo): void {
  writeStateFile(dir, RESOLV_CONF, resolvConfText(info.dns));
  writeStateFile(dir, HOSTS, hostsText());
  writeStateFile(dir, NET_JSON, `${JSON.stringify(info, null, 2)}\n`);
}
