// Servers the network tests start on the host's loopback (separate
// processes, so that the synchronous run() of a command does not block them).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Server {
  port: number;
  proc: ChildProcess;
  stop(): void;
}

async function startServer(argv: string[], port: number, readyOf: (proc: ChildProcess) => () => Promise<boolean>): Promise<Server> {
  const proc = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore', detached: true });
  const ready = readyOf(proc);
  const end = Date.now() + 5000;
  while (!(await ready())) {
    if (Date.now() > end || proc.exitCode !== null) throw new Error(`server ${argv.join(' ')} did not start`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    port,
    proc,
    stop: () => {
      try {
        process.kill(-proc.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    },
  };
}

/** Resolves true once the server process itself has a socket on port (a stray listener beside is not taken for it). */
function listening(server: ChildProcess, port: number, proto: 'tcp' | 'udp', v6 = false): () => Promise<boolean> {
  return async () => {
    const file = `/proc/net/${proto}${v6 ? '6' : ''}`;
    if (!existsSync(file)) return false;
    const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
    const inodes = new Set<string>();
    for (const l of readFileSync(file, 'utf8').split('\n')) {
      const f = l.trim().split(/\s+/);
      if (f[1]?.endsWith(hex) && f[9]) inodes.add(`socket:[${f[9]}]`);
    }
    if (inodes.size === 0) return false;
    try {
      return readdirSync(`/proc/${server.pid}/fd`).some((fd) => {
        try {
          return inodes.has(readlinkSync(`/proc/${server.pid}/fd/${fd}`));
        } catch {
          return false;
        }
      });
    } catch {
      return false;
    }
  };
}

/** An HTTP server on HOST (127.0.0.1 or ::1) serving a file "hello.txt" with the text "hello from the host\n". */
export async function httpServer(host = '127.0.0.1'): Promise<Server> {
  const port = await freePort(host);
  const script = `import http.server,socketserver,socket,sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b=b"hello from the host\\n"; self.send_response(200); self.send_header("Content-Length",str(len(b))); self.end_headers(); self.wfile.write(b)
    def log_message(self,*a): pass
class S(http.server.ThreadingHTTPServer): address_family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
S((sys.argv[1], int(sys.argv[2])), H).serve_forever()`;
  return startServer(['python3', '-c', script, host, String(port)], port, (proc) => listening(proc, port, 'tcp', host.includes(':')));
}

/** A UDP echo server on HOST: each datagram is sent back as it came. */
export async function udpEcho(host = '127.0.0.1'): Promise<Server> {
  const port = await freePort(host);
  const script = `import socket,sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s=socket.socket(fam, socket.SOCK_DGRAM); s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    d,a=s.recvfrom(65535); s.sendto(d,a)`;
  return startServer(['python3', '-c', script, host, String(port)], port, (proc) => listening(proc, port, 'udp', host.includes(':')));
}

/** Python one-liner for inside a namespace: send TEXT by UDP to HOST:PORT, print the reply (or "timeout"). */
export function udpClient(host: string, port: number, text: string): string[] {
  const script = `import socket,sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s=socket.socket(fam, socket.SOCK_DGRAM); s.settimeout(3)
s.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))
try: print(s.recvfrom(65535)[0].decode())
except socket.timeout: print("timeout")`;
  return ['python3', '-c', script, host, String(port), text];
}

/** A DNS responder on 127.0.0.1 (UDP): every A query is answered with 198.51.100.7 (never a resolver off this machine). */
export async function dnsServer(): Promise<Server> {
  const port = await freePort();
  const script = `import socket,struct,sys
s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    q,a=s.recvfrom(512)
    i=12
    while q[i]: i+=q[i]+1
    qend=i+5
    h=q[:2]+b"\\x81\\x80"+q[4:6]+b"\\x00\\x01\\x00\\x00\\x00\\x00"
    ans=b"\\xc0\\x0c\\x00\\x01\\x00\\x01\\x00\\x00\\x00\\x3c\\x00\\x04"+bytes([198,51,100,7])
    s.sendto(h+q[12:qend]+ans,a)`;
  return startServer(['python3', '-c', script, String(port)], port, (proc) => listening(proc, port, 'udp'));
}
