// socat's address syntax, for the forwarding subset: "rk-portfwd ADDRESS1
// ADDRESS2" where ADDRESS1 listens and ADDRESS2 is where each client is
// connected. Whatever is not supported is refused naming the keyword or
// option (never read as something else). Pure parsing: no file or name is
// looked at here.
import { isIP } from 'node:net';

export type SocatEndpoint =
  | { kind: 'tcp' | 'udp'; host: string; port: number; family: 0 | 4 | 6 }
  | { kind: 'unix'; path: string }
  | { kind: 'abstract'; name: string };

export interface SocatListenOptions {
  fork: boolean;
  /** socat's range=: allowed client networks. */
  ranges: { ip: string; prefix: number }[];
  maxChildren?: number;
  /** Socket file: permission bits, owner, group (names or numbers), unlink-early. */
  mode?: number;
  user?: string;
  group?: string;
  unlinkEarly: boolean;
  /** Ours (socat has no such option): this forward's PROXY protocol header, over the process-wide flag. */
  proxyProtocol?: 'v1' | 'v2' | 'none';
}

export interface SocatForward {
  listen: SocatEndpoint;
  target: SocatEndpoint;
  options: SocatListenOptions;
  /** The lines as given (for messages). */
  lines: [string, string];
}

export class SocatSyntaxError extends Error {}

const LISTEN: Record<string, { kind: SocatEndpoint['kind']; family: 0 | 4 | 6 }> = {
  'TCP-LISTEN': { kind: 'tcp', family: 0 },
  'TCP-L': { kind: 'tcp', family: 0 },
  'TCP4-LISTEN': { kind: 'tcp', family: 4 },
  'TCP4-L': { kind: 'tcp', family: 4 },
  'TCP6-LISTEN': { kind: 'tcp', family: 6 },
  'TCP6-L': { kind: 'tcp', family: 6 },
  'UDP-LISTEN': { kind: 'udp', family: 0 },
  'UDP-L': { kind: 'udp', family: 0 },
  'UDP4-LISTEN': { kind: 'udp', family: 4 },
  'UDP6-LISTEN': { kind: 'udp', family: 6 },
  'UDP-RECVFROM': { kind: 'udp', family: 0 },
  'UDP4-RECVFROM': { kind: 'udp', family: 4 },
  'UDP6-RECVFROM': { kind: 'udp', family: 6 },
  'UNIX-LISTEN': { kind: 'unix', family: 0 },
  'UNIX-L': { kind: 'unix', family: 0 },
  'ABSTRACT-LISTEN': { kind: 'abstract', family: 0 },
};

const CONNECT: Record<string, { kind: SocatEndpoint['kind']; family: 0 | 4 | 6 }> = {
  TCP: { kind: 'tcp', family: 0 },
  'TCP-CONNECT': { kind: 'tcp', family: 0 },
  TCP4: { kind: 'tcp', family: 4 },
  'TCP4-CONNECT': { kind: 'tcp', family: 4 },
  TCP6: { kind: 'tcp', family: 6 },
  'TCP6-CONNECT': { kind: 'tcp', family: 6 },
  UDP: { kind: 'udp', family: 0 },
  'UDP-CONNECT': { kind: 'udp', family: 0 },
  'UDP-SENDTO': { kind: 'udp', family: 0 },
  UDP4: { kind: 'udp', family: 4 },
  'UDP4-SENDTO': { kind: 'udp', family: 4 },
  UDP6: { kind: 'udp', family: 6 },
  'UDP6-SENDTO': { kind: 'udp', family: 6 },
  'UNIX-CONNECT': { kind: 'unix', family: 0 },
  'UNIX-CLIENT': { kind: 'unix', family: 0 },
  UNIX: { kind: 'unix', family: 0 },
  'ABSTRACT-CONNECT': { kind: 'abstract', family: 0 },
  'ABSTRACT-CLIENT': { kind: 'abstract', family: 0 },
  ABSTRACT: { kind: 'abstract', family: 0 },
};

const LISTEN_OPTIONS = new Set(['fork', 'reuseaddr', 'bind', 'range', 'max-children', 'mode', 'perm', 'user', 'owner', 'group', 'unlink-early', 'proxy-protocol']);
const SU = new Set(['su', 'su-d', 'substuser', 'substuser-delayed']);

/** Splits at the separator outside brackets ("[::1]:80" stays whole). */
function split(s: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '[') depth++;
    if (ch === ']') depth--;
    if (ch === sep && depth === 0) {
      out.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  out.push(cur);
  return out;
}

const unbracket = (h: string) => (h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h);

function portOf(s: string | undefined, line: string): number {
  if (s === undefined || !/^\d{1,5}$/.test(s) || Number(s) > 65535) throw new SocatSyntaxError(`${line}: ${JSON.stringify(s ?? '')} is not a port number (0-65535; service names are not looked up)`);
  return Number(s);
}

function parseRange(v: string, line: string): { ip: string; prefix: number } {
  // socat: ADDR/BITS or ADDR:MASK (IPv6 in brackets).
  const m = /^(\[[^\]]+\]|[^/:]+)(?:\/(\d+)|:(.+))?$/.exec(v);
  const ip = m ? unbracket(m[1]!) : '';
  const fam = isIP(ip);
  if (!m || fam === 0) throw new SocatSyntaxError(`${line}: range=${v}: give ADDRESS/BITS (e.g. range=10.0.0.0/8, range=[fd00::]/8)`);
  const max = fam === 4 ? 32 : 128;
  let prefix = max;
  if (m[2] !== undefined) prefix = Number(m[2]);
  else if (m[3] !== undefined) {
    const mask = unbracket(m[3]);
    if (isIP(mask) !== 4 || fam !== 4) throw new SocatSyntaxError(`${line}: range=${v}: the mask must be an IPv4 mask (or use /BITS)`);
    const bits = mask.split('.').map(Number).reduce((a, b) => a * 256 + b, 0);
    prefix = 32 - Math.log2(2 ** 32 - bits);
    if (!Number.isInteger(prefix)) throw new SocatSyntaxError(`${line}: range=${v}: ${mask} is not a contiguous mask`);
  }
  if (!(prefix >= 0 && prefix <= max)) throw new SocatSyntaxError(`${line}: range=${v}: prefix length ${prefix} out of 0-${max}`);
  return { ip, prefix };
}

interface Parsed {
  keyword: string;
  params: string[];
  options: [string, string | undefined][];
}

function parseLine(line: string): Parsed {
  if (line === '' || line === '-' || line.toUpperCase() === 'STDIO' || line.toUpperCase() === 'STDIN' || line.toUpperCase() === 'STDOUT') {
    throw new SocatSyntaxError(`${JSON.stringify(line)}: standard input/output is not an address rk-portfwd forwards (it forwards sockets to sockets)`);
  }
  if (line.includes('!!')) throw new SocatSyntaxError(`${line}: dual addresses (!!) are not supported`);
  const [head, ...opts] = split(line, ',');
  const parts = split(head!, ':');
  const keyword = parts[0]!.toUpperCase();
  const options = opts.map((o): [string, string | undefined] => {
    const i = o.indexOf('=');
    return i < 0 ? [o.toLowerCase(), undefined] : [o.slice(0, i).toLowerCase(), o.slice(i + 1)];
  });
  return { keyword, params: parts.slice(1), options };
}

function endpoint(kind: SocatEndpoint['kind'], family: 0 | 4 | 6, keyword: string, params: string[], line: string, listening: boolean): SocatEndpoint {
  if (kind === 'unix' || kind === 'abstract') {
    // the path may hold ':' (everything after the keyword's colon)
    const name = params.join(':');
    if (name === '') throw new SocatSyntaxError(`${line}: ${keyword} needs a ${kind === 'unix' ? 'socket file path' : 'name'} (${keyword}:${kind === 'unix' ? 'PATH' : 'NAME'})`);
    return kind === 'unix' ? { kind, path: name } : { kind, name };
  }
  if (listening) {
    if (params.length !== 1) throw new SocatSyntaxError(`${line}: ${keyword} takes a port only (${keyword}:PORT; the address goes in bind=)`);
    return { kind, host: '', port: portOf(params[0], line), family };
  }
  if (params.length !== 2) throw new SocatSyntaxError(`${line}: ${keyword} needs HOST:PORT (IPv6 in brackets)`);
  const host = unbracket(params[0]!);
  if (host === '') throw new SocatSyntaxError(`${line}: ${keyword} needs a host`);
  return { kind, host, port: portOf(params[1], line), family };
}

/** Parses socat's ADDRESS1 (listening) and ADDRESS2 (the target); throws SocatSyntaxError naming what is wrong. */
export function parseSocatForward(a1: string, a2: string): SocatForward {
  const l = parseLine(a1);
  const c = parseLine(a2);
  const lk = LISTEN[l.keyword];
  if (!lk) {
    if (CONNECT[l.keyword]) throw new SocatSyntaxError(`${a1}: ADDRESS1 must be a listening address (e.g. TCP-LISTEN, UNIX-LISTEN): rk-portfwd listens on the first and connects to the second`);
    throw new SocatSyntaxError(`${a1}: address type ${l.keyword} is not supported by rk-portfwd (listening: ${Object.keys(LISTEN).join(', ')})`);
  }
  const ck = CONNECT[c.keyword];
  if (!ck) {
    if (LISTEN[c.keyword]) throw new SocatSyntaxError(`${a2}: ADDRESS2 must be an address to connect to (e.g. TCP, UNIX-CONNECT), not a listening one`);
    throw new SocatSyntaxError(`${a2}: address type ${c.keyword} is not supported by rk-portfwd (targets: ${Object.keys(CONNECT).join(', ')})`);
  }
  const listen = endpoint(lk.kind, lk.family, l.keyword, l.params, a1, true);
  const target = endpoint(ck.kind, ck.family, c.keyword, c.params, a2, false);
  const udp = (e: SocatEndpoint) => e.kind === 'udp';
  if (udp(listen) !== udp(target)) throw new SocatSyntaxError(`${a1} ${a2}: UDP forwards to UDP only (datagrams and streams do not mix)`);

  const o: SocatListenOptions = { fork: false, ranges: [], unlinkEarly: false };
  for (const [k, v] of l.options) {
    if (SU.has(k)) throw new SocatSyntaxError(`${a1}: ${k}= is refused: rk-portfwd does not change user; run it as that user instead (e.g. sudo -u USER rk-portfwd ...)`);
    if (!LISTEN_OPTIONS.has(k)) throw new SocatSyntaxError(`${a1}: option ${k} is not supported by rk-portfwd (supported: ${[...LISTEN_OPTIONS].join(', ')})`);
    const needs = (what: string) => {
      if (v === undefined || v === '') throw new SocatSyntaxError(`${a1}: ${k}= needs ${what}`);
      return v;
    };
    const sockFile = () => {
      if (listen.kind !== 'unix') throw new SocatSyntaxError(`${a1}: ${k} applies to a socket file (UNIX-LISTEN) only`);
    };
    switch (k) {
      case 'fork':
      case 'reuseaddr': // TCP listeners always set SO_REUSEADDR
        if (v !== undefined && v !== '1') throw new SocatSyntaxError(`${a1}: ${k} takes no value`);
        if (k === 'fork') o.fork = true;
        break;
      case 'bind': {
        if (listen.kind !== 'tcp' && listen.kind !== 'udp') throw new SocatSyntaxError(`${a1}: bind= applies to TCP/UDP listeners (the socket file path is the UNIX listener's address)`);
        const whole = needs('an IP address');
        const ip = isIP(whole) ? whole : unbracket(split(whole, ':')[0]!);
        if (isIP(ip) === 0) throw new SocatSyntaxError(`${a1}: bind=${v}: give an IP address (names are not looked up)`);
        if (!isIP(whole) && split(whole, ':').length > 1) throw new SocatSyntaxError(`${a1}: bind=${v}: the port is the one after ${l.keyword}:, give the address only`);
        if ((listen.family === 4 && isIP(ip) !== 4) || (listen.family === 6 && isIP(ip) !== 6)) throw new SocatSyntaxError(`${a1}: bind=${ip} is not an IPv${listen.family} address`);
        (listen as { host: string }).host = ip;
        break;
      }
      case 'range':
        if (listen.kind !== 'tcp') throw new SocatSyntaxError(`${a1}: range= is supported on TCP listeners only`);
        o.ranges.push(parseRange(needs('ADDRESS/BITS'), a1));
        break;
      case 'max-children': {
        const n = Number(needs('a number'));
        if (!Number.isInteger(n) || n < 1 || n > 4096) throw new SocatSyntaxError(`${a1}: max-children=${v}: give 1 to 4096`);
        if (listen.kind === 'udp') throw new SocatSyntaxError(`${a1}: max-children is for stream listeners (UDP flows have their own cap)`);
        o.maxChildren = n;
        break;
      }
      case 'mode':
      case 'perm': {
        sockFile();
        const m = needs('octal permission bits (e.g. 0660)');
        if (!/^0?[0-7]{1,4}$/.test(m) || parseInt(m, 8) > 0o777) throw new SocatSyntaxError(`${a1}: ${k}=${m}: give permission bits in octal, 0000-0777 (e.g. 0660)`);
        o.mode = parseInt(m, 8);
        break;
      }
      case 'user':
      case 'owner':
        sockFile();
        o.user = needs('a user name or uid');
        break;
      case 'group':
        sockFile();
        o.group = needs('a group name or gid');
        break;
      case 'unlink-early':
        sockFile();
        o.unlinkEarly = true;
        break;
      case 'proxy-protocol': {
        const pp = needs('v1, v2 or none');
        if (pp !== 'v1' && pp !== 'v2' && pp !== 'none') throw new SocatSyntaxError(`${a1}: proxy-protocol=${pp}: give v1, v2 or none`);
        if (listen.kind === 'udp') throw new SocatSyntaxError(`${a1}: proxy-protocol applies to stream listeners (TCP, UNIX), not UDP`);
        o.proxyProtocol = pp;
        break;
      }
    }
  }
  for (const [k] of c.options) {
    if (SU.has(k)) throw new SocatSyntaxError(`${a2}: ${k}= is refused: rk-portfwd does not change user; run it as that user instead`);
    throw new SocatSyntaxError(`${a2}: option ${k} on the target address is not supported by rk-portfwd (options go on ADDRESS1)`);
  }
  if (listen.kind === 'udp' && !o.fork) {
    throw new SocatSyntaxError(`${a1}: UDP without fork (one peer only) is not supported: add ,fork (rk-portfwd serves every client as its own flow)`);
  }
  return { listen, target, options: o, lines: [a1, a2] };
}

/** socat's top-level flags that scripts pass: -d (repeatable) is --debug, -T N the idle timeout; others are refused by name. */
export interface SocatFlags {
  rest: string[];
  debug: boolean;
  idleTimeout?: number;
}

const SOCAT_FLAGS_REFUSED = /^-(V|v|x|r|R|b|s|t|u|U|g|L|W|4|6|S|D|lf|ls|lm|lp|lu|lh|ly)/;

export function takeSocatFlags(argv: string[]): SocatFlags {
  const rest: string[] = [];
  let debug = false;
  let idleTimeout: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (/^-d+$/.test(a)) {
      debug = true;
      continue;
    }
    const t = /^-T(.*)$/.exec(a);
    if (t) {
      const v = t[1] !== '' ? t[1] : argv[++i];
      const n = Number(v);
      if (v === undefined || !(n > 0)) throw new SocatSyntaxError(`-T needs a timeout in seconds (e.g. -T 60)`);
      idleTimeout = n;
      continue;
    }
    if (!a.startsWith('--') && a !== '-p' && !a.startsWith('-p') && SOCAT_FLAGS_REFUSED.test(a)) {
      throw new SocatSyntaxError(`socat option ${a} is not supported by rk-portfwd (supported: -d, -dd, -T SECONDS)`);
    }
    rest.push(a);
  }
  return { rest, debug, ...(idleTimeout !== undefined ? { idleTimeout } : {}) };
}
