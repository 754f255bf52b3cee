import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { ErrorCode, errorCodeName, RpcError } from '../errors.js';
import type { Limits } from '../limits.js';
import { resolveLimits } from '../limits.js';
import { type HandlerMap, Peer } from '../peer.js';
import type { Principal } from '../principal.js';
import { CloseCode } from '../transport.js';
import { AuthThrottle, type AuthThrottleOptions } from './auth-throttle.js';
import { upgradeToken } from './upgrade-token.js';
import { bindPeer, explainOversize, wsTransport } from './ws-transport.js';

export interface EndpointOptions {
  /**
   * Turns a bearer token into a principal, or throws an RpcError (Unauthenticated) whose
   * message becomes the 401 body. Also used for `rpc.renewToken`.
   */
  authenticate(token: string | undefined, req: IncomingMessage): Promise<Principal>;
  /** The methods this endpoint serves: one map, or one per connection. */
  methods: HandlerMap | ((principal: Principal, req: IncomingMessage) => HandlerMap);
  limits?: Partial<Limits>;
  /** How many failed logins one address may make per window before it is refused with 429. */
  authThrottle?: Partial<AuthThrottleOptions>;
  onConnection?(peer: Peer, req: IncomingMessage): void;
  onInternalError?(method: string, error: unknown): void;
  /** Schemas of the served methods; the platform's catalogue unless a test brings its own. */
  catalogue?: Record<string, import('../catalogue/define.js').MethodSpec>;
}

/**
 * One WebSocket JSON-RPC endpoint. The owner of the HTTP server routes an upgrade here with
 * `handleUpgrade`; authentication happens before the WebSocket exists, so a bad token gets
 * HTTP 401 and no socket. Every live peer is heart-beaten and dropped after two missed pongs.
 */
export class RpcEndpoint {
  readonly limits: Limits;
  readonly peers = new Set<Peer>();
  private readonly wss: WebSocketServer;
  private readonly heartbeat: ReturnType<typeof setInterval>;
  private readonly missed = new Map<Peer, number>();
  private readonly sockets = new Map<Peer, import('ws').WebSocket>();
  private readonly throttle: AuthThrottle;

  constructor(private readonly options: EndpointOptions) {
    this.limits = resolveLimits(options.limits);
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.limits.maxFrameBytes,
      clientTracking: false,
    });
    this.heartbeat = setInterval(() => this.beat(), this.limits.heartbeatMs);
    this.heartbeat.unref();
    this.throttle = new AuthThrottle(options.authThrottle);
  }

  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const address = req.socket.remoteAddress ?? 'unknown';
    const wait = this.throttle.retryAfter(address);
    if (wait > 0) {
      refuse(socket, new RpcError(4029, 'too many failed logins from this address; wait and retry'), wait);
      return;
    }
    let principal: Principal;
    try {
      principal = await this.options.authenticate(upgradeToken(req), req);
    } catch (error) {
      // "Cannot check now" (the server's store is away) is not a failed login: not counted, so
      // callers retrying through an outage are not locked out once it ends.
      if (!(error instanceof RpcError && error.code === ErrorCode.Unavailable)) this.throttle.fail(address);
      refuse(socket, error);
      return;
    }
    this.throttle.succeed(address);
    if (socket.destroyed) return;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, principal, req));
  }

  /** Closes every connection and stops the heartbeat. */
  close(code: number = CloseCode.GoingAway, reason = 'server shutting down'): void {
    clearInterval(this.heartbeat);
    for (const ws of this.sockets.values()) ws.close(code, reason);
  }

  /** Terminates every socket at once (for tests of dead peers and for hard shutdown). */
  terminateAll(): void {
    for (const ws of this.sockets.values()) ws.terminate();
  }

  private accept(ws: import('ws').WebSocket, principal: Principal, req: IncomingMessage): void {
    explainOversize(ws, this.limits.maxFrameBytes);
    const methods =
      typeof this.options.methods === 'function'
        ? this.options.methods(principal, req)
        : this.options.methods;
    const peer: Peer = new Peer(wsTransport(ws), {
      role: 'server',
      principal,
      limits: this.limits,
      methods: {
        ...methods,
        'rpc.renewToken': (p): Promise<{ expiresAt: number | null }> => this.renew(peer, p.token, req),
      },
      onInternalError: this.options.onInternalError,
      catalogue: this.options.catalogue,
    });
    this.peers.add(peer);
    this.sockets.set(peer, ws);
    this.missed.set(peer, 0);
    ws.on('pong', () => this.missed.set(peer, 0));
    bindPeer(ws, peer);
    const expiry = new ExpiryTimer(() =>
      ws.close(CloseCode.TokenExpired, 'token expired; connect again with a fresh token'),
    );
    expiry.set(principal.expiresAt);
    peer.onClose(() => {
      expiry.clear();
      this.peers.delete(peer);
      this.sockets.delete(peer);
      this.missed.delete(peer);
    });
    (peer as PeerWithExpiry)[expiryKey] = expiry;
    this.options.onConnection?.(peer, req);
  }

  private async renew(
    peer: Peer,
    token: string,
    req: IncomingMessage,
  ): Promise<{ expiresAt: number | null }> {
    const next = await this.options.authenticate(token, req);
    if (next.sub !== peer.principal.sub) {
      throw new RpcError(4003, 'a renewed token must name the same subject as the connection');
    }
    peer.principal = next;
    (peer as PeerWithExpiry)[expiryKey]?.set(next.expiresAt);
    return { expiresAt: next.expiresAt ?? null };
  }

  private beat(): void {
    for (const [peer, ws] of this.sockets) {
      const missed = (this.missed.get(peer) ?? 0) + 1;
      if (missed > 2) {
        ws.terminate();
        continue;
      }
      this.missed.set(peer, missed);
      ws.ping();
    }
  }
}

const expiryKey = Symbol('expiry');
type PeerWithExpiry = Peer & { [expiryKey]?: ExpiryTimer };

class ExpiryTimer {
  private timer: ReturnType<typeof setTimeout> | undefined;
  constructor(private readonly onExpire: () => void) {}
  set(expiresAt: number | undefined): void {
    this.clear();
    if (expiresAt === undefined) return;
    // setTimeout holds at most ~24.8 days; longer-lived credentials are simply not timed.
    const delay = Math.max(0, expiresAt - Date.now());
    if (delay > 2 ** 31 - 1) return;
    this.timer = setTimeout(this.onExpire, delay);
    this.timer.unref();
  }
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}

const statusByCode: Record<number, [number, string]> = {
  4001: [401, 'Unauthorized'],
  4003: [403, 'Forbidden'],
  4029: [429, 'Too Many Requests'],
  4503: [503, 'Service Unavailable'],
};

function refuse(socket: Duplex, error: unknown, retryAfterMs?: number): void {
  const rpc = error instanceof RpcError ? error : undefined;
  const [status, reason] = statusByCode[rpc?.code ?? 4001] ?? [400, 'Bad Request'];
  const body = JSON.stringify({
    error: {
      code: rpc ? (errorCodeName(rpc.code) ?? rpc.code) : 'Unauthenticated',
      message: rpc?.message ?? 'authentication failed',
      ...(rpc?.data !== undefined ? { data: rpc.data } : {}),
    },
  });
  const extra =
    (status === 401 ? 'WWW-Authenticate: Bearer\r\n' : '') +
    (retryAfterMs ? `Retry-After: ${Math.ceil(retryAfterMs / 1000)}\r\n` : '');
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
