// Port specs as users write them: [PARENTIP:]PARENTPORT[:CHILDIP]:CHILDPORT/PROTO[,OPTION...]
// Ours beside upstream's grammar: proto "unix", where an absolute socket file
// path stands for either side ("/run/app.sock:80/unix", "2375:/run/docker.sock/unix"),
// and options after the proto ("8080:80/tcp,proxy-protocol=v2").
import { isIP } from 'node:net';
import { RkError } from '@rk/cli';
import { ApiError, type PortSpec, type PortStatus } from './types.js';

export const PORT_SPEC_FORM = '[PARENTIP:]PARENTPORT[:CHILDIP]:CHILDPORT/PROTO';
/** The socket file forms (proto unix): a path on the host side, the namespace side, or both. */
export const UNIX_SPEC_FORM = 'PARENTPATH:[CHILDIP:]CHILDPORT/unix, [PARENTIP:]PARENTPORT:CHILDPATH/unix or PARENTPATH:CHILDPATH/unix';

/** Every proto a port spec may name; a port driver supports a subset (its Info.protos). */
export const PROTOS: readonly string[] = ['tcp', 'tcp4', 'tcp6', 'udp', 'udp4', 'udp6', 'sctp', 'sctp4', 'sctp6', 'unix'];

/** Values of the proxy-protocol option (none: not even the process-wide default). */
export const PROXY_PROTOCOLS: readonly string[] = ['v1', 'v2', 'none'];

/** The longest socket file path (sun_path less its NUL). */
export const MAX_SOCKET_PATH = 107;

interface Part {
  text: string;
  bracketed: boolean;
}

/** True when the spec names proto unix (its errors then show the socket file forms). */
const namesUnix = (spec: string) => spec.slice(spec.lastIndexOf('/') + 1).split(',')[0] === 'unix';

function bad(spec: string, why: string, unix = namesUnix(spec)): RkError {
  return new RkError(
    `invalid port spec ${JSON.stringify(spec)}: ${why}; expected ` +
      (unix
        ? `${UNIX_SPEC_FORM} (absolute paths without ":", e.g. /run/user/1000/web.sock:80/unix or 127.0.0.1:2375:/run/docker.sock/unix)`
        : `${PORT_SPEC_FORM} (IPv6 in brackets, e.g. 127.0.0.1:8080:80/tcp or [::1]:8080:80/tcp)`),
    2,
  );
}

/** Why a socket file path cannot be used (undefined: it can). */
export function socketPathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return `${JSON.stringify(path)} is not an absolute path`;
  if (path.endsWith('/')) return `${JSON.stringify(path)} names a directory, not a socket file`;
  if (path.includes('\0')) return 'a path cannot hold a NUL byte';
  const n = Buffer.byteLength(path);
  if (n > MAX_SOCKET_PATH) return `${path} has ${n} bytes, more than a socket path holds (${MAX_SOCKET_PATH}): use a shorter path`;
  return undefined;
}

/**
 * Why a port driver that forwards IP ports by itself (slirp4netns) cannot
 * take spec: a socket file or a PROXY protocol header needs our relay.
 */
export function ipOnlyDriverProblem(spec: PortSpec, driver: string): string | undefined {
  if (spec.proto === 'unix') return `proto unix (a socket file) is not supported by the ${driver} port driver, which forwards IP ports only: use --port-driver=builtin`;
  if (spec.proxyProtocol === 'v1' || spec.proxyProtocol === 'v2') return `proxy-protocol is not supported by the ${driver} port driver (${driver} forwards by itself): use --port-driver=builtin`;
  return undefined;
}

/** The options after the proto: proxy-protocol=v1|v2|none. */
function parseOptions(spec: string, opts: string[], out: PortSpec): void {
  for (const o of opts) {
    const eq = o.indexOf('=');
    const k = eq < 0 ? o : o.slice(0, eq);
    const v = eq < 0 ? undefined : o.slice(eq + 1);
    if (k !== 'proxy-protocol') throw bad(spec, `unknown option ${JSON.stringify(k)} after the proto (supported: proxy-protocol=v1|v2|none)`);
    if (v === undefined || !PROXY_PROTOCOLS.includes(v)) throw bad(spec, `proxy-protocol=${v ?? ''}: give v1, v2 or none`);
    if (out.proto.startsWith('udp') || out.proto.startsWith('sctp')) throw bad(spec, `proxy-protocol applies to streams (tcp, unix), not ${out.proto}`);
    out.proxyProtocol = v;
  }
}

const isPathPart = (p: Part) => !p.bracketed && p.text.startsWith('/');

function path(spec: string, p: Part): string {
  const why = socketPathProblem(p.text);
  if (why) throw bad(spec, why, true);
  return p.text;
}

/** PARENT:CHILD with a socket file path on one side or both (proto unix). */
function parseUnix(s: string, body: string): PortSpec {
  const parts = split(s, body);
  const out: PortSpec = { proto: 'unix', parentPort: 0, childPort: 0 };
  if (parts.length >= 2 && isPathPart(parts[0]!)) {
    out.parentPath = path(s, parts[0]!);
    const rest = parts.slice(1);
    if (rest.length > 1 && rest.some(isPathPart)) throw bad(s, 'at most two socket file paths (PARENTPATH:CHILDPATH)', true);
    if (rest.length === 1 && isPathPart(rest[0]!)) out.childPath = path(s, rest[0]!);
    else if (rest.length === 1) out.childPort = port(s, rest[0]!, 'child port');
    else if (rest.length === 2) {
      const childIP = ip(s, rest[0]!, 'child IP');
      if (childIP !== undefined) out.childIP = childIP;
      out.childPort = port(s, rest[1]!, 'child port');
    } else throw bad(s, 'too many ":"-separated parts after the socket file path', true);
    return out;
  }
  if (parts.length >= 2 && isPathPart(parts[parts.length - 1]!)) {
    out.childPath = path(s, parts[parts.length - 1]!);
    const rest = parts.slice(0, -1);
    if (rest.length === 1) out.parentPort = port(s, rest[0]!, 'parent port');
    else if (rest.length === 2) {
      const parentIP = ip(s, rest[0]!, 'parent IP');
      if (parentIP !== undefined) out.parentIP = parentIP;
      out.parentPort = port(s, rest[1]!, 'parent port');
    } else throw bad(s, 'too many ":"-separated parts before the socket file path', true);
    return out;
  }
  throw bad(s, 'proto unix needs an absolute socket file path as the first or the last part', true);
}

/** Splits "a:[b:c]:d" at the colons outside brackets. */
function split(spec: string, s: string): Part[] {
  const parts: Part[] = [];
  let i = 0;
  for (;;) {
    if (s[i] === '[') {
      const close = s.indexOf(']', i);
      if (close < 0) throw bad(spec, 'unclosed "["');
      parts.push({ text: s.slice(i + 1, close), bracketed: true });
      i = close + 1;
      if (i < s.length && s[i] !== ':') throw bad(spec, `unexpected ${JSON.stringify(s[i])} after "]"`);
    } else {
      const colon = s.indexOf(':', i);
      const end = colon < 0 ? s.length : colon;
      const text = s.slice(i, end);
      if (text.includes('[') || text.includes(']')) throw bad(spec, 'brackets must enclose a whole IPv6 address');
      parts.push({ text, bracketed: false });
      i = end;
    }
    if (i >= s.length) return parts;
    i++; // the colon
  }
}

const isPortText = (p: Part) => !p.bracketed && /^\d+$/.test(p.text);
// Brackets may hold any address (upstream takes "[127.0.0.1]" too); bare, only IPv4.
const isIPPart = (p: Part) => (p.bracketed ? isIP(p.text) !== 0 : isIP(p.text) === 4);

function port(spec: string, p: Part, what: string): number {
  if (!isPortText(p)) throw bad(spec, `${what} ${JSON.stringify(p.text)} is not a port number`);
  const n = Number(p.text);
  if (n < 1 || n > 65535) throw bad(spec, `${what} ${n} is out of range 1-65535`);
  return n;
}

function ip(spec: string, p: Part, what: string): string | undefined {
  if (p.text === '' && !p.bracketed) return undefined;
  if (isIPPart(p)) return p.text;
  if (!p.bracketed && isIP(p.text) === 6) throw bad(spec, `${what} ${p.text} is IPv6 and must be in brackets`);
  throw bad(spec, `${what} ${JSON.stringify(p.text)} is not an IP address`);
}

/** Parses `[PARENTIP:]PARENTPORT[:CHILDIP]:CHILDPORT/PROTO`; throws RkError (exit 2) naming the expected form. */
export function parsePortSpec(s: string): PortSpec {
  const slash = s.lastIndexOf('/');
  if (slash < 0) throw bad(s, 'missing /PROTO');
  const [proto, ...opts] = s.slice(slash + 1).split(',') as [string, ...string[]];
  if (!PROTOS.includes(proto)) throw bad(s, `unknown proto ${JSON.stringify(proto)} (one of ${PROTOS.join(', ')})`);
  if (proto === 'unix') {
    const spec = parseUnix(s, s.slice(0, slash));
    parseOptions(s, opts, spec);
    return spec;
  }
  const parts = split(s, s.slice(0, slash));
  let parentIP: string | undefined;
  let childIP: string | undefined;
  let parentPort: number;
  let childPort: number;
  switch (parts.length) {
    case 2:
      parentPort = port(s, parts[0]!, 'parent port');
      childPort = port(s, parts[1]!, 'child port');
      break;
    case 3: {
      const [a, b, c] = parts as [Part, Part, Part];
      // PARENTIP:PARENTPORT:CHILDPORT, unless it reads as PARENTPORT:CHILDIP:CHILDPORT
      if (isPortText(a) && (b.bracketed || isIP(b.text) !== 0)) {
        parentPort = port(s, a, 'parent port');
        childIP = ip(s, b, 'child IP');
      } else {
        parentIP = ip(s, a, 'parent IP');
        parentPort = port(s, b, 'parent port');
      }
      childPort = port(s, c, 'child port');
      break;
    }
    case 4:
      parentIP = ip(s, parts[0]!, 'parent IP');
      parentPort = port(s, parts[1]!, 'parent port');
      childIP = ip(s, parts[2]!, 'child IP');
      childPort = port(s, parts[3]!, 'child port');
      break;
    default:
      throw bad(s, parts.length < 2 ? 'need both a parent port and a child port' : 'too many ":"-separated parts (is an IPv6 address missing its brackets?)');
  }
  const spec: PortSpec = { proto, parentPort, childPort };
  if (parentIP !== undefined) spec.parentIP = parentIP;
  if (childIP !== undefined) spec.childIP = childIP;
  parseOptions(s, opts, spec);
  return spec;
}

const fmtIP = (a: string) => (a.includes(':') ? `[${a}]` : a);

/** The inverse of parsePortSpec: e.g. "127.0.0.1:8080:80/tcp", "[::1]:8080:[fd00::2]:80/udp6". */
export function formatPortSpec(p: PortSpec): string {
  const opts = p.proxyProtocol ? `,proxy-protocol=${p.proxyProtocol}` : '';
  const parent = p.parentPath ?? `${p.parentIP ? `${fmtIP(p.parentIP)}:` : ''}${p.parentPort}`;
  const child = p.childPath ?? `${p.childIP ? `${fmtIP(p.childIP)}:` : ''}${p.childPort}`;
  return `${parent}:${child}/${p.proto}${opts}`;
}

/** Address family a proto pins (4 or 6), or 0 for either. */
function protoFamily(proto: string): number {
  return proto.endsWith('4') ? 4 : proto.endsWith('6') ? 6 : 0;
}

const WILDCARDS = new Set(['', '0.0.0.0', '::']);

/** Families a spec listens on, as a bit set: 1 = IPv4, 2 = IPv6. */
function families(spec: PortSpec): number {
  const ipFam = spec.parentIP && !WILDCARDS.has(spec.parentIP) ? isIP(spec.parentIP) : 0;
  const fam = ipFam || protoFamily(spec.proto);
  return fam === 4 ? 1 : fam === 6 ? 2 : 3;
}

/** What the parent side listens with: tcp, udp, sctp (a unix spec with a parent port listens on TCP). */
const listenBase = (s: PortSpec) => (s.proto === 'unix' ? 'tcp' : s.proto.replace(/[46]$/, ''));

/**
 * Checks a spec a client sent (proto among `protos`, ports in range, IP
 * syntax and family) and, given the ports already forwarded, that its parent
 * side does not overlap one of them. Throws ApiError(400) with the reason.
 */
export function validatePortSpec(spec: PortSpec, existing: Iterable<PortStatus> = [], protos: readonly string[] = PROTOS): void {
  if (!protos.includes(spec.proto)) {
    throw new ApiError(400, `unsupported proto: ${JSON.stringify(spec.proto ?? '')} (supported: ${protos.join(', ')})`);
  }
  const unix = spec.proto === 'unix';
  for (const [name, value] of [['parentPath', spec.parentPath], ['childPath', spec.childPath]] as const) {
    if (value === undefined || value === '') continue;
    if (!unix) throw new ApiError(400, `${name} needs proto "unix" (a socket file), not ${JSON.stringify(spec.proto)}`);
    const why = socketPathProblem(value);
    if (why) throw new ApiError(400, `invalid ${name}: ${why}`);
  }
  if (unix) {
    if (!spec.parentPath && !spec.childPath) throw new ApiError(400, 'proto unix needs parentPath or childPath (a socket file); for TCP on both sides use proto tcp');
    if (spec.parentPath && (spec.parentPort || spec.parentIP)) throw new ApiError(400, 'give parentPath or parentIP/parentPort, not both');
    if (spec.childPath && (spec.childPort || spec.childIP)) throw new ApiError(400, 'give childPath or childIP/childPort, not both');
  }
  if (spec.proxyProtocol !== undefined && spec.proxyProtocol !== '') {
    if (!PROXY_PROTOCOLS.includes(spec.proxyProtocol)) throw new ApiError(400, `invalid proxyProtocol: ${JSON.stringify(spec.proxyProtocol)} (v1, v2 or none)`);
    if (!spec.proto.startsWith('tcp') && !unix) throw new ApiError(400, `proxyProtocol applies to streams (tcp, unix), not ${spec.proto}`);
  }
  for (const [name, value] of [['parentIP', spec.parentIP], ['childIP', spec.childIP]] as const) {
    if (value === undefined || value === '') continue;
    const fam = isIP(value);
    if (fam === 0) throw new ApiError(400, `invalid ${name}: ${JSON.stringify(value)}`);
    // The proto's family is the listening side's; the child side may be
    // either (v4 to v6 and back, as upstream). 0.0.0.0 with a *6 proto
    // means "::", as Go's listener reads it.
    const want = protoFamily(spec.proto);
    if (name === 'parentIP' && want !== 0 && want !== fam && !(want === 6 && value === '0.0.0.0')) {
      throw new ApiError(400, `${name} ${value} is not IPv${want} as proto ${spec.proto} requires`);
    }
  }
  for (const [name, value] of [['parentPort', spec.parentPort], ['childPort', spec.childPort]] as const) {
    if (name === 'parentPort' ? spec.parentPath : spec.childPath) continue;
    if (!Number.isInteger(value) || value < 1 || value > 65535) {
      throw new ApiError(400, `invalid ${name}: ${value ?? 0} (must be 1-65535)`);
    }
  }
  const base = listenBase(spec);
  const fams = families(spec);
  const pip = spec.parentIP ?? '';
  for (const st of existing) {
    const o = st.spec;
    if (spec.parentPath || o.parentPath) {
      if (spec.parentPath === o.parentPath) throw new ApiError(400, `conflict with ID ${st.id} (the same socket file)`);
      continue;
    }
    if (listenBase(o) !== base || o.parentPort !== spec.parentPort) continue;
    if ((families(o) & fams) === 0) continue;
    const oip = o.parentIP ?? '';
    if (oip === pip || WILDCARDS.has(oip) || WILDCARDS.has(pip)) {
      throw new ApiError(400, `conflict with ID ${st.id}`);
    }
  }
}
