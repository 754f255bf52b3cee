import type { MethodName, ParamsOf, ResultOf } from '../catalogue/index.js';
import { errors, RpcError } from '../errors.js';
import { type Limits, resolveLimits } from '../limits.js';
import { type CallOptions, type HandlerMap, Peer } from '../peer.js';
import type { Principal } from '../principal.js';
import type { StreamReader } from '../streams/reader.js';
import type { Transport } from '../transport.js';
import { type BackoffOptions, backoffDelay, defaultBackoff } from './backoff.js';
import { jwtExpiry } from './jwt-expiry.js';
import { browserSocketFactory, type OpenedSocket, type SocketFactory } from './socket.js';

export type TokenProvider = () => string | Promise<string>;

export interface ClientOptions {
  socketFactory?: SocketFactory;
  limits?: Partial<Limits>;
  backoff?: Partial<BackoffOptions>;
  /** Renew the token this long before it expires (default 60 s, or a fifth of a shorter lifetime). */
  renewBeforeMs?: number;
  /** Methods this side serves to the other (a Klient registered with Kloud serves its own). */
  methods?: HandlerMap;
  /** Who the other side is, for the scope checks of `methods`. */
  remotePrincipal?: Principal;
  /** False: one connection attempt, no reconnects (for tools that prefer to fail fast). */
  reconnect?: boolean;
}

export type ClientState = 'connecting' | 'open' | 'closed';

/**
 * A connection that stays up: it reconnects with exponential backoff and jitter, renews its token
 * before expiry, and re-runs `onConnect` hooks (re-subscribe) on every new connection. Calls made
 * while disconnected wait for the next connection within their timeout.
 */
export class RpcClient {
  state: ClientState = 'connecting';
  private peer: Peer | undefined;
  private readonly limits: Limits;
  private readonly backoff: BackoffOptions;
  private readonly factory: SocketFactory;
  private attempt = 0;
  private lastError: RpcError | undefined;
  private readonly openWaiters = new Set<() => void>();
  private readonly connectHooks: Array<(peer: Peer) => void | Promise<void>> = [];
  private readonly notificationListeners: Array<[string, (params: unknown) => void]> = [];
  private readonly stateListeners: Array<(state: ClientState, error?: RpcError) => void> = [];
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private current: OpenedSocket | undefined;

  constructor(
    readonly url: string,
    private readonly tokenProvider: TokenProvider,
    private readonly options: ClientOptions = {},
  ) {
    this.limits = resolveLimits(options.limits);
    this.backoff = { ...defaultBackoff, ...options.backoff };
    this.factory = options.socketFactory ?? browserSocketFactory;
    void this.open();
  }

  /** The live connection, if any. */
  get connection(): Peer | undefined {
    return this.peer;
  }

  async call<M extends MethodName>(
    method: M,
    params: ParamsOf<M>,
    options: CallOptions = {},
  ): Promise<ResultOf<M>> {
    const timeoutMs = options.timeoutMs ?? this.limits.callTimeoutMs;
    const started = Date.now();
    const peer = await this.waitOpen(timeoutMs);
    return peer.call(method, params, { timeoutMs: Math.max(1, timeoutMs - (Date.now() - started)) });
  }

  /** The reader of a stream announced by a result on the current connection. */
  openReader(streamId: number): StreamReader {
    if (!this.peer) throw errors.unavailable('not connected');
    return this.peer.openReader(streamId);
  }

  onNotification(method: string, listener: (params: unknown) => void): void {
    this.notificationListeners.push([method, listener]);
    this.peer?.onNotification(method, listener);
  }

  /** Runs on every connection, the first included: the place to (re)subscribe. */
  onConnect(hook: (peer: Peer) => void | Promise<void>): void {
    this.connectHooks.push(hook);
    if (this.peer) void hook(this.peer);
  }

  onState(listener: (state: ClientState, error?: RpcError) => void): void {
    this.stateListeners.push(listener);
  }

  /** Resolves with the live connection, waiting for one up to `timeoutMs`. */
  waitOpen(timeoutMs = this.limits.callTimeoutMs): Promise<Peer> {
    if (this.peer && !this.peer.closed) return Promise.resolve(this.peer);
    if (this.state === 'closed') return Promise.reject(errors.unavailable('client is closed'));
    return new Promise<Peer>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.openWaiters.delete(done);
        if (this.peer && !this.peer.closed) resolve(this.peer);
        else reject(this.lastError ?? errors.unavailable('client is closed'));
      };
      const timer = setTimeout(() => {
        this.openWaiters.delete(done);
        reject(this.lastError ?? errors.timeout(`no connection to ${this.url} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.openWaiters.add(done);
    });
  }

  close(): void {
    this.state = 'closed';
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.current?.socket.close(1000, 'client closed');
    this.peer?.handleTransportClose(1000, 'client closed');
    for (const waiter of [...this.openWaiters]) waiter();
    this.emitState();
  }

  private async open(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'connecting';
    let token: string;
    try {
      token = await this.tokenProvider();
    } catch (error) {
      this.lastError = errors.unauthenticated(`could not get a token: ${(error as Error).message}`);
      return this.retry();
    }
    if ((this.state as ClientState) === 'closed') return;
    let opened: OpenedSocket;
    try {
      opened = this.factory(this.url, token, this.limits.maxFrameBytes);
    } catch (error) {
      this.lastError = errors.unavailable(`cannot open ${this.url}: ${(error as Error).message}`);
      return this.retry();
    }
    this.current = opened;
    const { socket } = opened;
    // Node's `ws` hands over its own Buffer as is; 'arraybuffer' would copy every frame once more.
    socket.binaryType = opened.binaryType ?? 'arraybuffer';
    const tracker = opened.trackSends?.();
    const transport: Transport = {
      send: tracker ? tracker.send : (data) => socket.send(data),
      whenBufferedBelow: tracker?.whenBufferedBelow,
      get bufferedAmount() {
        return socket.bufferedAmount;
      },
      close: (code, reason) => socket.close(code, reason),
      pauseReading: opened.pause,
      resumeReading: opened.resume,
    };
    const peer = new Peer(transport, {
      role: 'client',
      limits: this.limits,
      methods: this.options.methods,
      principal: this.options.remotePrincipal,
    });
    let lastTraffic = Date.now();
    opened.onPing?.(() => {
      lastTraffic = Date.now();
    });
    socket.onmessage = (event) => {
      lastTraffic = Date.now();
      const data = event.data;
      peer.receive(
        typeof data === 'string'
          ? data
          : data instanceof Uint8Array
            ? data
            : new Uint8Array(data as ArrayBuffer),
      );
    };
    socket.onerror = () => {};
    socket.onopen = () => {
      this.attempt = 0;
      this.lastError = undefined;
      this.peer = peer;
      this.state = 'open';
      for (const [method, listener] of this.notificationListeners) peer.onNotification(method, listener);
      this.watchLiveness(peer, () => lastTraffic);
      this.scheduleRenewal(peer, token);
      for (const hook of this.connectHooks) void Promise.resolve(hook(peer)).catch(() => {});
      for (const waiter of [...this.openWaiters]) waiter();
      this.emitState();
    };
    let closeSeen = false;
    socket.onclose = async (event) => {
      if (closeSeen) return;
      closeSeen = true;
      peer.handleTransportClose(event.code, event.reason);
      if (this.peer === peer) this.peer = undefined;
      if (this.state === 'closed') return;
      const refusal = await opened.refusal;
      if (refusal) {
        this.lastError = refusalError(refusal);
      } else if (event.code === 1009) {
        this.lastError = errors.tooLarge(event.reason || 'frame too large');
      } else if (!this.lastError) {
        this.lastError = errors.unavailable(
          `connection to ${this.url} closed (${event.code}${event.reason ? `: ${event.reason}` : ''})`,
        );
      }
      this.retry();
    };
  }

  private retry(): void {
    if (this.state === 'closed') return;
    if (this.options.reconnect === false) {
      this.state = 'closed';
      for (const waiter of [...this.openWaiters]) waiter();
      this.emitState();
      return;
    }
    this.state = 'connecting';
    this.emitState();
    // A refused token fails waiting calls at once instead of letting them time out.
    if (this.lastError?.code === 4001) for (const waiter of [...this.openWaiters]) waiter();
    this.later(() => void this.open(), backoffDelay(this.attempt++, this.backoff));
  }

  private watchLiveness(peer: Peer, lastTraffic: () => number): void {
    const interval = this.limits.heartbeatMs;
    const check = async () => {
      if (peer.closed || this.state === 'closed') return;
      if (Date.now() - lastTraffic() > 2 * interval) {
        try {
          await peer.call('rpc.ping', {}, { timeoutMs: interval });
        } catch {
          if (!peer.closed) {
            peer.handleTransportClose(4008, 'peer stopped answering');
            this.current?.socket.close(4008, 'peer stopped answering');
          }
          return;
        }
      }
      this.later(check, interval);
    };
    this.later(check, interval);
  }

  private scheduleRenewal(peer: Peer, token: string): void {
    const expiresAt = jwtExpiry(token);
    if (expiresAt === undefined) return;
    const lifetime = expiresAt - Date.now();
    const before = Math.min(this.options.renewBeforeMs ?? 60_000, lifetime / 5);
    this.later(
      async () => {
        if (peer.closed || this.state === 'closed') return;
        try {
          const fresh = await this.tokenProvider();
          await peer.call('rpc.renewToken', { token: fresh });
          this.scheduleRenewal(peer, fresh);
        } catch {
          // The server closes the connection at expiry; the reconnect fetches a fresh token.
        }
      },
      Math.max(0, lifetime - before),
    );
  }

  private later(fn: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    (timer as { unref?: () => void }).unref?.();
    this.timers.add(timer);
  }

  private emitState(): void {
    for (const listener of this.stateListeners) listener(this.state, this.lastError);
  }
}

function refusalError(refusal: { status: number; body: string }): RpcError {
  let message = `upgrade refused with HTTP ${refusal.status}`;
  let data: unknown;
  try {
    const parsed = JSON.parse(refusal.body) as { error?: { message?: string; data?: unknown } };
    if (parsed.error?.message) message = parsed.error.message;
    data = parsed.error?.data;
  } catch {
    // Not our server's JSON body; the status says enough.
  }
  if (refusal.status === 401) return new RpcError(4001, message, data);
  if (refusal.status === 403) return new RpcError(4003, message, data);
  if (refusal.status === 429) return new RpcError(4029, message, data);
  return errors.unavailable(message, data);
}

/** Opens a client connection. In Node import from `@kk/protocol/node.js`, which supplies `ws`. */
export function connect(
  url: string,
  tokenProvider: TokenProvider | string,
  options: ClientOptions = {},
): RpcClient {
  const provider = typeof tokenProvider === 'string' ? () => tokenProvider : tokenProvider;
  return new RpcClient(url, provider, options);
}
