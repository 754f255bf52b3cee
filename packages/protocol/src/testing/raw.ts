import { request } from 'node:http';
import WebSocket from 'ws';

/** A bare `ws` client for tests that speak the wire format by hand. */
export class RawSocket {
  readonly ws: WebSocket;
  private readonly inbox: Array<string | Buffer> = [];
  private waiters: Array<(m: string | Buffer) => void> = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;

  constructor(url: string, token?: string, options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, ...options });
    this.ws.on('message', (data, isBinary) => {
      const message = isBinary ? (data as Buffer) : data.toString();
      const waiter = this.waiters.shift();
      if (waiter) waiter(message);
      else this.inbox.push(message);
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) =>
      this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  /** Sends once the socket is open (a send before that would throw). */
  send(data: string | Buffer): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(data);
    else void this.opened.then(() => this.ws.send(data));
  }

  next(): Promise<string | Buffer> {
    const queued = this.inbox.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async nextJson(): Promise<unknown> {
    const message = await this.next();
    return JSON.parse(message.toString());
  }

  /** Sends and returns the parsed answer. */
  async exchange(data: string): Promise<unknown> {
    this.send(data);
    return this.nextJson();
  }

  /** Sends, then skips other messages until the answer with `id` arrives. */
  async exchangeUntil(data: string, id: unknown): Promise<unknown> {
    this.send(data);
    for (;;) {
      const message = await this.next();
      if (typeof message !== 'string') continue;
      const parsed = JSON.parse(message) as { id?: unknown };
      if (parsed && !Array.isArray(parsed) && parsed.id === id) return parsed;
    }
  }

  close(): void {
    this.ws.close();
  }
}

export interface UpgradeAnswer {
  /** 101 when a socket was made, else the refusal's status. */
  status: number;
  body: string;
  retryAfter?: string;
}

/**
 * A bare WebSocket upgrade request, for tests of what a server answers before any socket exists
 * (401, 403, 429 …). A socket made by a 101 is destroyed at once.
 */
export function upgradeStatus(
  url: string,
  headers: Record<string, string>,
  options: { localAddress?: string } = {},
): Promise<UpgradeAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(url.replace(/^ws/, 'http')), {
      localAddress: options.localAddress,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        const retryAfter = res.headers['retry-after'];
        resolve({ status: res.statusCode ?? 0, body, ...(retryAfter ? { retryAfter } : {}) });
      });
    });
    req.on('error', reject);
    req.end();
  });
}
