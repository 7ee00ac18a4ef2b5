// Client of the REST API on STATE/api.sock.
import { request } from 'node:http';
import { RkError } from '@rk/cli';
import { canonicalInfo, canonicalStatus, toJson } from './json.js';
import { ApiError, type Info, type PortSpec, type PortStatus } from './types.js';

const MAX_RESPONSE = 16 << 20;

interface Response {
  status: number;
  statusText: string;
  body: string;
}

export class ApiClient {
  constructor(readonly socketPath: string) {}

  /** GET /v1/info */
  async info(): Promise<Info> {
    return canonicalInfo(this.json(await this.call('GET', '/v1/info')));
  }

  /** GET /v1/ports (an empty list when the server says null) */
  async listPorts(): Promise<PortStatus[]> {
    const v = this.json(await this.call('GET', '/v1/ports'));
    if (v === null) return [];
    if (!Array.isArray(v)) throw this.badResponse('GET /v1/ports', 'expected a JSON array');
    return v.map(canonicalStatus);
  }

  /** POST /v1/ports */
  async addPort(spec: PortSpec): Promise<PortStatus> {
    return canonicalStatus(this.json(await this.call('POST', '/v1/ports', toJson(spec))));
  }

  /** DELETE /v1/ports/{id} */
  async removePort(id: number): Promise<void> {
    await this.call('DELETE', `/v1/ports/${id}`);
  }

  private badResponse(what: string, why: string): RkError {
    return new RkError(`bad answer from the RootlessKit API at ${this.socketPath} to ${what}: ${why}`);
  }

  private json(r: Response & { what?: string }): unknown {
    try {
      return JSON.parse(r.body);
    } catch (err) {
      throw this.badResponse(r.what ?? 'a request', `invalid JSON (${err instanceof Error ? err.message : String(err)})`);
    }
  }

  private call(method: string, path: string, body?: string): Promise<Response & { what: string }> {
    const what = `${method} ${path}`;
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = {};
      if (body !== undefined) {
        headers['Content-Type'] = 'application/json';
        headers['Content-Length'] = Buffer.byteLength(body);
      }
      const req = request(
        { socketPath: this.socketPath, method, path, host: 'rootlesskit', headers, agent: false },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_RESPONSE) {
              req.destroy(this.badResponse(what, `answer larger than ${MAX_RESPONSE} bytes`));
              return;
            }
            chunks.push(c);
          });
          res.on('error', reject);
          res.on('end', () => {
            const r = { status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', body: Buffer.concat(chunks).toString('utf8'), what };
            if (r.status >= 200 && r.status < 300) resolve(r);
            else reject(errorOf(r));
          });
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => reject(err instanceof RkError ? err : this.connectError(err)));
      req.end(body);
    });
  }

  private connectError(err: NodeJS.ErrnoException): RkError {
    const why = err.code ?? err.message;
    // Connected, but the answer was not HTTP (HPE_*: the parser's errors), or
    // the peer closed without answering: a socket of something else.
    if (why.startsWith('HPE_') || (why === 'ECONNRESET' && /socket hang up/.test(err.message))) {
      const said = why.startsWith('HPE_') ? 'answered with something that is not HTTP' : 'closed the connection without an HTTP answer';
      return new RkError(
        `${this.socketPath} does not speak HTTP (it ${said}; ${why}): it is not a RootlessKit API socket. Point --socket at STATE_DIR/api.sock of a running rootlesskit`,
        1,
        { cause: err },
      );
    }
    return new RkError(
      `cannot reach the RootlessKit API at ${this.socketPath} (${why}): is rootlesskit running? ` +
        `Point --socket at STATE_DIR/api.sock or set $ROOTLESSKIT_STATE_DIR to rootlesskit's --state-dir`,
      1,
      { cause: err },
    );
  }
}

/** ApiError for a non-2xx answer: the server's {"message"} text when it sent one. */
function errorOf(r: Response): ApiError {
  try {
    const v = JSON.parse(r.body) as unknown;
    if (typeof v === 'object' && v !== null && typeof (v as { message?: unknown }).message === 'string') {
      return new ApiError(r.status, (v as { message: string }).message);
    }
  } catch {
    // not JSON: describe the answer below
  }
  const text = r.body.length > 200 ? `${r.body.slice(0, 200)}…` : r.body;
  return new ApiError(r.status, `unexpected HTTP status ${r.status} ${r.statusText}, body=${JSON.stringify(text)}`);
}
