// Canonical JSON for the API's objects: the field order and the "leave out
// when empty" rules of upstream's encoder, so that bytes on the wire and the
// client's --json output look the same whichever side is ours.
import type { Info, NetworkDriverInfo, PortDriverInfo, PortSpec, PortStatus } from './types.js';

const HTML_UNSAFE = /[<>&\u2028\u2029]/g;

/** JSON.stringify, with <, >, &, U+2028 and U+2029 escaped as \uXXXX (as Go's encoder does). */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(
    HTML_UNSAFE,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const int = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** PortSpec with fields in wire order (proto, parentIP, parentPort, childPort, childIP, then ours); empty ones left out. */
export function canonicalSpec(s: unknown): PortSpec {
  const o = isObject(s) ? s : {};
  const out: Record<string, unknown> = {};
  if (str(o.proto)) out.proto = o.proto;
  if (str(o.parentIP)) out.parentIP = o.parentIP;
  if (int(o.parentPort)) out.parentPort = o.parentPort;
  if (int(o.childPort)) out.childPort = o.childPort;
  if (str(o.childIP)) out.childIP = o.childIP;
  // ours, after upstream's fields (left out when empty, so upstream's specs read the same)
  if (str(o.parentPath)) out.parentPath = o.parentPath;
  if (str(o.childPath)) out.childPath = o.childPath;
  if (str(o.proxyProtocol)) out.proxyProtocol = o.proxyProtocol;
  // The interface wants numbers: a missing port reads as 0 but is not written.
  return out as unknown as PortSpec;
}

export function canonicalStatus(s: unknown): PortStatus {
  const o = isObject(s) ? s : {};
  return { id: int(o.id), spec: canonicalSpec(o.spec) };
}

function canonicalNetwork(n: unknown): NetworkDriverInfo | undefined {
  if (!isObject(n)) return undefined;
  const out: NetworkDriverInfo = { driver: typeof n.driver === 'string' ? n.driver : '' };
  if (Array.isArray(n.dns) && n.dns.length > 0) out.dns = n.dns.map(String);
  if (str(n.childIP)) out.childIP = n.childIP as string;
  if (n.dynamicChildIP === true) out.dynamicChildIP = true;
  return out;
}

function canonicalPort(p: unknown): PortDriverInfo | undefined {
  if (!isObject(p)) return undefined;
  const out: PortDriverInfo = {
    driver: typeof p.driver === 'string' ? p.driver : '',
    protos: Array.isArray(p.protos) ? p.protos.map(String) : [],
  };
  if (p.disallowLoopbackChildIP === true) out.disallowLoopbackChildIP = true;
  return out;
}

/** Info with fields in wire order; networkDriver/portDriver and their empty fields left out. */
export function canonicalInfo(i: unknown): Info {
  const o = isObject(i) ? i : {};
  const out: Info = {
    apiVersion: typeof o.apiVersion === 'string' ? o.apiVersion : '',
    version: typeof o.version === 'string' ? o.version : '',
    stateDir: typeof o.stateDir === 'string' ? o.stateDir : '',
    childPID: int(o.childPID),
  };
  const net = canonicalNetwork(o.networkDriver);
  if (net) out.networkDriver = net;
  const port = canonicalPort(o.portDriver);
  if (port) out.portDriver = port;
  if (isObject(o.copyUpDriver)) {
    const c = o.copyUpDriver;
    out.copyUpDriver = {
      driver: typeof c.driver === 'string' ? c.driver : '',
      dirs: (Array.isArray(c.dirs) ? c.dirs : []).filter(isObject).map((d) => ({ path: String(d.path ?? ''), driver: String(d.driver ?? '') })),
    };
  }
  if (isObject(o.bypass)) {
    const b = o.bypass;
    out.bypass = {
      enabled: b.enabled === true,
      bypassed: int(b.bypassed),
      left: int(b.left),
      fallback: int(b.fallback),
      failed: int(b.failed),
      inFlight: int(b.inFlight),
      listeners: int(b.listeners),
      budgetHits: int(b.budgetHits),
    };
  }
  return out;
}
