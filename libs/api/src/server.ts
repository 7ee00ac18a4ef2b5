// The REST API server on STATE/api.sock (HTTP/1.1 over a unix socket).
// It is on rootlesskit's startup path: keep its imports to Node's own light modules.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { lstatSync, rmSync, unlinkSync } from 'node:fs';
import { posix } from 'node:path';
import { RkError } from '@rk/cli';
import { canonicalInfo, canonicalStatus, toJson } from './json.js';
import { PROTOS, validatePortSpec } from './spec.js';
import { API_VERSION, ApiError, type Info, type PortManager, type PortSpec } from './types.js';

export interface ApiServerOptions {
  /** where to listen; a stale socket file there is replaced */
  socketPath: string;
  /** an fd already listening on socketPath (made early so the socket exists sooner); closed and unlinked on close() */
  fd?: number;
  /** the current Info (apiVersion defaults to API_VERSION) */
  info: () => Info;
  /** the port driver; without one every /v1/ports route answers 400 */
  ports?: PortManager;
}

export interface ApiServer {
  readonly socketPath: string;
  /** Stops listening (which removes the socket file) and drops open connections. */
  close(): Promise<void>;
}

const MAX_BODY = 1 << 20;
const MAX_DRAIN = 64 << 20;
const NO_PORT_DRIVER = 'no PortDriver is available';

function send(res: ServerResponse, status: number, body: string, type?: string): void {
  const headers: Record<string, string | number> = { 'Content-Length': Buffer.byteLength(body) };
  if (type) headers['Content-Type'] = type;
  res.writeHead(status, headers);
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, toJson(value), 'application/json');
}

/** Errors are {"message": "..."} plus a newline, as upstream writes them. */
function sendError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  send(res, status, `${toJson({ message })}\n`, 'application/json');
}

function statusOf(err: unknown): number {
  if (err instanceof ApiError && Number.isInteger(err.status) && err.status >= 400 && err.status <= 599) return err.status;
  return 500;
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * The request body as text. A body over MAX_BODY is read to its end and
 * dropped (up to MAX_DRAIN, so that the client, still sending, gets the 413
 * answer rather than a reset); past MAX_DRAIN the connection is dropped.
 */
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_DRAIN) {
        req.destroy();
        return;
      }
      if (size > MAX_BODY) {
        chunks.length = 0;
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY) reject(new ApiError(413, `request body larger than ${MAX_BODY} bytes: a PortSpec is a small JSON object`));
      else resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

const SPEC_FIELDS = ['proto', 'parentIP', 'parentPort', 'childIP', 'childPort', 'parentPath', 'childPath', 'proxyProtocol'] as const;
type SpecField = (typeof SPEC_FIELDS)[number];
const NUMERIC = new Set<SpecField>(['parentPort', 'childPort']);

/** A PortSpec from a request body: unknown fields ignored, names matched case-insensitively (as upstream's decoder does). */
export function decodePortSpec(text: string): PortSpec {
  if (text.trim() === '') throw new ApiError(400, 'empty request body: expected a PortSpec JSON object');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ApiError(400, `invalid JSON in request body: ${messageOf(err)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError(400, 'request body must be a PortSpec JSON object');
  }
  const out: Record<string, unknown> = {};
  const entries = Object.entries(value as Record<string, unknown>);
  const fieldOf = (k: string): SpecField | undefined =>
    SPEC_FIELDS.find((f) => f === k) ?? SPEC_FIELDS.find((f) => f.toLowerCase() === k.toLowerCase());
  for (const [k, v] of entries) {
    const f = fieldOf(k);
    if (!f || v === null) continue;
    if (NUMERIC.has(f)) {
      if (typeof v !== 'number' || !Number.isInteger(v)) {
        throw new ApiError(400, `invalid PortSpec: ${f} must be an integer, not ${JSON.stringify(v)}`);
      }
    } else if (typeof v !== 'string') {
      throw new ApiError(400, `invalid PortSpec: ${f} must be a string, not ${JSON.stringify(v)}`);
    }
    if (v !== '' && v !== 0) out[f] = v;
  }
  return {
    proto: (out.proto as string | undefined) ?? '',
    parentPort: (out.parentPort as number | undefined) ?? 0,
    childPort: (out.childPort as number | undefined) ?? 0,
    ...(out.parentIP !== undefined ? { parentIP: out.parentIP as string } : {}),
    ...(out.childIP !== undefined ? { childIP: out.childIP as string } : {}),
    ...(out.parentPath !== undefined ? { parentPath: out.parentPath as string } : {}),
    ...(out.childPath !== undefined ? { childPath: out.childPath as string } : {}),
    ...(out.proxyProtocol !== undefined ? { proxyProtocol: out.proxyProtocol as string } : {}),
  };
}

/** Go's path cleaning: no "//", ".", ".." segments; a trailing slash is kept. */
function cleanPath(p: string): string {
  if (p === '') return '/';
  let c = posix.normalize(p.startsWith('/') ? p : `/${p}`);
  if (p.endsWith('/') && !c.endsWith('/')) c += '/';
  return c;
}

const PORT_ID = /^\/v1\/ports\/([^/]+)$/;

async function handle(opts: ApiServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  if (method !== 'POST') req.resume();
  let raw = req.url ?? '/';
  if (!raw.startsWith('/')) {
    try {
      const u = new URL(raw);
      raw = u.pathname + u.search;
    } catch {
      return sendError(res, 400, `bad request target ${JSON.stringify(raw)}`);
    }
  }
  const q = raw.indexOf('?');
  const query = q < 0 ? '' : raw.slice(q);
  let path: string;
  try {
    path = decodeURIComponent(q < 0 ? raw : raw.slice(0, q));
  } catch {
    return sendError(res, 400, 'bad escape in request path');
  }
  const clean = cleanPath(path);
  if (clean !== path) {
    res.writeHead(301, { Location: clean + query, 'Content-Length': 0 });
    res.end();
    return;
  }

  const notAllowed = () => send(res, 405, '');
  if (path === '/v1/info') {
    if (method !== 'GET') return notAllowed();
    return sendJson(res, 200, infoOf(opts));
  }
  if (path === '/v1/ports') {
    if (method === 'GET') {
      if (!opts.ports) return sendError(res, 400, NO_PORT_DRIVER);
      const list = await opts.ports.list();
      return sendJson(res, 200, list.map(canonicalStatus));
    }
    if (method === 'POST') {
      if (!opts.ports) {
        req.resume();
        return sendError(res, 400, NO_PORT_DRIVER);
      }
      const spec = decodePortSpec(await readBody(req));
      validatePortSpec(spec, [], supportedProtos(opts));
      const status = await opts.ports.add(spec);
      return sendJson(res, 201, canonicalStatus(status));
    }
    return notAllowed();
  }
  const m = PORT_ID.exec(path);
  if (m) {
    if (method !== 'DELETE') return notAllowed();
    if (!opts.ports) return sendError(res, 400, NO_PORT_DRIVER);
    const idText = m[1]!;
    const id = /^[+-]?\d+$/.test(idText) ? Number(idText) : NaN;
    if (!Number.isSafeInteger(id)) return sendError(res, 400, `bad id ${idText}: not an integer`);
    await opts.ports.remove(id);
    return send(res, 200, '');
  }
  res.writeHead(404, {
    'Content-Type': 'text/plain; charset=utf-8',
    'X-Content-Type-Options': 'nosniff',
    'Content-Length': 19,
  });
  res.end('404 page not found\n');
}

function infoOf(opts: ApiServerOptions): Info {
  const info = canonicalInfo(opts.info());
  if (!info.apiVersion) info.apiVersion = API_VERSION;
  return info;
}

function supportedProtos(opts: ApiServerOptions): readonly string[] {
  try {
    const protos = opts.info().portDriver?.protos;
    return protos && protos.length > 0 ? protos : PROTOS;
  } catch {
    return PROTOS;
  }
}

function removeStaleSocket(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new RkError(`cannot check ${path}: ${messageOf(err)}`);
  }
  if (!st.isSocket()) throw new RkError(`${path} exists and is not a socket: remove it or use another state dir`);
  unlinkSync(path);
}

/** Serves the REST API on opts.socketPath; resolves once it listens. */
export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const { socketPath } = opts;
  // sun_path holds 108 bytes including the terminating NUL
  if (Buffer.byteLength(socketPath) > 107) {
    throw new RkError(`socket path ${socketPath} is too long for a unix socket (max 107 bytes): use a shorter state dir`);
  }
  if (opts.fd === undefined) removeStaleSocket(socketPath);
  const server = createServer((req, res) => {
    handle(opts, req, res).catch((err: unknown) => sendError(res, statusOf(err), messageOf(err)));
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(new RkError(`cannot serve the API on ${socketPath}: ${err.message}`));
    server.once('error', onError);
    const done = () => {
      server.off('error', onError);
      resolve();
    };
    if (opts.fd !== undefined) server.listen({ fd: opts.fd }, done);
    else server.listen(socketPath, done);
  });
  let closed: Promise<void> | undefined;
  return {
    socketPath,
    close() {
      closed ??= new Promise<void>((resolve) => {
        // closing the listener also unlinks its socket file (libuv does, when it bound it)
        server.close(() => {
          if (opts.fd !== undefined) rmSync(socketPath, { force: true });
          resolve();
        });
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
