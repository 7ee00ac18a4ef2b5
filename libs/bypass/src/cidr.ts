// --bypass-ignore values: checked here so that a bad one is a usage error
// naming the form, before anything starts.
import { isIP } from 'node:net';
import { RkError } from '@rk/cli';

export function checkCidrs(list: string[], exitCode = 2): string[] {
  for (const c of list) {
    const [ip, prefix, extra] = c.split('/');
    const fam = isIP(ip ?? '');
    const max = fam === 4 ? 32 : 128;
    const ok = fam !== 0 && extra === undefined && (prefix === undefined || (/^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= max));
    if (!ok) throw new RkError(`--bypass-ignore: ${JSON.stringify(c)} is not a subnet: use ADDRESS/PREFIX, e.g. 192.168.0.0/16 or fd00::/8`, exitCode);
  }
  return list;
}
