import {
  createJSONRPCErrorResponse,
  JSONRPCClient,
  JSONRPCErrorException,
  type JSONRPCErrorResponse,
  type JSONRPCID,
  type JSONRPCRequest,
  type JSONRPCResponse,
  JSONRPCServer,
} from 'json-rpc-2.0';
import {
  catalogue,
  type MethodName,
  type MethodSpec,
  type ParamsOf,
  type ParsedParamsOf,
  type ResultOf,
  scopeAllows,
} from './catalogue/index.js';
import { classify, type Incoming } from './envelope.js';
import { AppCode, ErrorCode, errors, RpcError } from './errors.js';
import { decodeFrame } from './frames.js';
import { type Limits, resolveLimits } from './limits.js';
import type { Principal } from './principal.js';
import { StreamReader } from './streams/reader.js';
import { StreamSender } from './streams/sender.js';
import type { Transport } from './transport.js';
import { parseParams } from './validation.js';

export interface CallContext {
  peer: Peer;
  principal: Principal;
  /** Aborted when the connection closes. */
  signal: AbortSignal;
  /** A stream announced by this call's result; data flows after the response is sent. */
  openStream(): StreamSender;
}

export type Handler<M extends MethodName> = (
  params: ParsedParamsOf<M>,
  ctx: CallContext,
) => Promise<ResultOf<M>> | ResultOf<M>;

export type HandlerMap = { [M in MethodName]?: Handler<M> };

export interface CallOptions {
  timeoutMs?: number;
}

export interface PeerOptions {
  /** `client` allocates odd stream ids, `server` even ones, so both sides may open streams. */
  role: 'client' | 'server';
  methods?: HandlerMap;
  principal?: Principal;
  limits?: Partial<Limits>;
  /** Where unexpected handler errors go; their details never cross the wire. */
  onInternalError?: (method: string, error: unknown) => void;
  /** The methods' schemas; the platform's catalogue unless a test or tool brings its own. */
  catalogue?: Record<string, MethodSpec>;
}

type NotificationListener = (params: unknown) => void;

const internalNotifications = new Set(['stream.data', 'stream.end', 'stream.cancel']);

/**
 * Streams whose data arrived before the reader was opened. Bursts are normal (ws delivers every
 * frame of one TCP read before the caller's continuation runs), so the count is generous; the
 * bytes they hold together are bounded like one reader's (see `queued`).
 */
const MAX_UNCLAIMED_STREAMS = 1024;
/** The key under which all unclaimed streams' bytes count as one reader. */
const UNCLAIMED = 0;

/**
 * One end of a JSON-RPC 2.0 connection, both server and client (DESIGN §3). It validates
 * every incoming call against the catalogue, enforces the caller's scope, limits calls in
 * flight, answers strictly per the specification (batches, notifications, error codes), and
 * multiplexes streams over the same socket with backpressure.
 */
export class Peer {
  principal: Principal;
  readonly limits: Limits;
  private readonly transport: Transport;
  private readonly role: 'client' | 'server';
  private readonly server = new JSONRPCServer<{ ctx: CallContext }>({ errorListener: () => {} });
  private readonly client: JSONRPCClient;
  private readonly abort = new AbortController();
  private readonly senders = new Map<number, StreamSender>();
  private readonly readers = new Map<number, StreamReader>();
  private readonly unclaimed = new Map<
    number,
    { reader: StreamReader; timer: ReturnType<typeof setTimeout> }
  >();
  private readonly fullReaders = new Set<number>();
  private readonly unclaimedBytes = new Map<number, number>();
  /** Streams this side cancelled; their late data is dropped. Oldest forgotten past the cap. */
  private readonly cancelledIds = new Set<number>();
  private unclaimedTotal = 0;
  private frameBytes = 0;
  private readonly notificationListeners = new Map<string, Set<NotificationListener>>();
  private readonly closeListeners: Array<(code: number, reason: string) => void> = [];
  private readonly writableWaiters: Array<() => void> = [];
  private writablePoll: ReturnType<typeof setTimeout> | undefined;
  private nextStreamId: number;
  private inFlight = 0;
  private isClosed = false;
  private readonly onInternalError: (method: string, error: unknown) => void;
  private readonly catalogue: Record<string, MethodSpec>;

  constructor(transport: Transport, options: PeerOptions) {
    this.transport = transport;
    this.role = options.role;
    this.limits = resolveLimits(options.limits);
    this.principal = options.principal ?? { sub: 'anonymous', scope: 'readonly' };
    this.nextStreamId = options.role === 'client' ? 1 : 2;
    this.onInternalError = options.onInternalError ?? (() => {});
    this.catalogue = options.catalogue ?? catalogue;
    this.client = new JSONRPCClient((payload) => this.sendText(JSON.stringify(payload)));
    this.server.mapErrorToJSONRPCErrorResponse = (id, error) => this.mapError(id, error);
    this.server.handleMethodNotFound = async (request) =>
      request.id === undefined
        ? null
        : { jsonrpc: '2.0', id: request.id, error: errors.methodNotFound(request.method).toJSON() };
    this.register({ 'rpc.ping': () => ({ pong: true as const }) });
    if (options.methods) this.register(options.methods);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Signal aborted when this connection closes; handlers pass it to long operations. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Serves the given methods. Every name must be in the catalogue: it is the one source of truth. */
  register(methods: HandlerMap): void {
    for (const [name, handler] of Object.entries(methods)) {
      if (!handler) continue;
      const spec = Object.hasOwn(this.catalogue, name) ? this.catalogue[name] : catalogue[name as MethodName];
      if (!spec) throw new Error(`method ${name} is not in the catalogue`);
      this.server.addMethodAdvanced(name, async (request, serverParams) => {
        const ctx = serverParams.ctx;
        if (!scopeAllows(ctx.principal.scope, spec.access)) {
          throw errors.forbidden(
            `${name} needs ${spec.access} access; this connection's scope is ${ctx.principal.scope}`,
            {
              method: name,
              scope: ctx.principal.scope,
            },
          );
        }
        const params = parseParams(name, spec.params, request.params);
        let result: unknown;
        try {
          result = await (handler as Handler<MethodName>)(params as never, ctx);
        } catch (error) {
          if (error instanceof RpcError) throw error;
          // The details go to the owner's log under the method's name; the caller gets a generic answer.
          this.onInternalError(name, error);
          throw errors.internal('internal error; the server logged the details');
        }
        return { jsonrpc: '2.0', id: request.id ?? null, result: result === undefined ? null : result };
      });
    }
  }

  /** Calls a method on the other side; rejects with an RpcError carrying the remote code. */
  async call<M extends MethodName>(
    method: M,
    params: ParamsOf<M>,
    options: CallOptions = {},
  ): Promise<ResultOf<M>> {
    if (this.isClosed) throw errors.unavailable('connection is closed; reconnect and retry');
    const timeoutMs = options.timeoutMs ?? this.limits.callTimeoutMs;
    const requester = this.client.timeout(timeoutMs, (id) =>
      createJSONRPCErrorResponse(id, AppCode.Timeout, `${method} timed out after ${timeoutMs} ms`),
    );
    try {
      return (await requester.request(method, params ?? undefined)) as ResultOf<M>;
    } catch (error) {
      if (error instanceof JSONRPCErrorException) {
        const code = error.code === 0 ? AppCode.Unavailable : error.code;
        throw new RpcError(code, error.message, error.data);
      }
      throw error;
    }
  }

  notify(method: string, params?: unknown): void {
    if (this.isClosed) return;
    this.sendText(JSON.stringify({ jsonrpc: '2.0', method, ...(params === undefined ? {} : { params }) }));
  }

  /** Listens for notifications of one method from the other side (not the internal stream ones). */
  onNotification(method: string, listener: NotificationListener): () => void {
    let set = this.notificationListeners.get(method);
    if (!set) {
      set = new Set();
      this.notificationListeners.set(method, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  onClose(listener: (code: number, reason: string) => void): void {
    if (this.isClosed) listener(1006, 'already closed');
    else this.closeListeners.push(listener);
  }

  /** Starts a stream this side produces; the id must reach the other side in a result or params. */
  openStream(): StreamSender {
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const sender = new StreamSender(id, {
      sendText: (text) => this.sendText(text),
      sendBinary: (frame) => this.sendBinary(frame),
      waitWritable: () => this.waitWritable(),
      isAboveHighWater: () => !this.isClosed && this.transport.bufferedAmount > this.limits.highWaterBytes,
      forget: (streamId) => this.senders.delete(streamId),
    });
    this.senders.set(id, sender);
    if (this.isClosed) sender.cancel('connection closed');
    return sender;
  }

  /** The receiving end of a stream the other side announced. Data that arrived first is kept. */
  openReader(streamId: number): StreamReader {
    const existing = this.unclaimed.get(streamId);
    if (existing) {
      clearTimeout(existing.timer);
      this.unclaimed.delete(streamId);
      // Its bytes stop counting as unclaimed and start counting as this reader's own.
      this.queued(streamId, existing.reader.queuedBytes);
      return existing.reader;
    }
    const live = this.readers.get(streamId);
    if (live) return live;
    return this.createReader(streamId);
  }

  /** Feeds one received WebSocket message. Never throws: bad input is answered or dropped. */
  receive(data: string | Uint8Array): void {
    if (this.isClosed) return;
    if (typeof data !== 'string') {
      this.receiveBinary(data);
      return;
    }
    // What the frame cost on the wire, so queued JSON stream chunks are counted at their real size.
    this.frameBytes = data.length;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      this.sendText(
        JSON.stringify(
          createJSONRPCErrorResponse(null, ErrorCode.ParseError, 'Parse error: the frame is not valid JSON'),
        ),
      );
      return;
    }
    if (Array.isArray(parsed)) {
      if (parsed.length === 0) {
        this.sendText(JSON.stringify(invalidRequest(null, 'an empty batch is not a valid request')));
        return;
      }
      void this.receiveBatch(parsed);
      return;
    }
    const incoming = classify(parsed);
    void this.handleOne(incoming).then((response) => {
      if (response) this.sendText(JSON.stringify(response.message), response.afterSend);
    });
  }

  /** Tears the connection down: pending calls fail, streams end, handlers see the abort. */
  handleTransportClose(code: number, reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.client.rejectAllPendingRequests(`connection closed (${code}${reason ? `: ${reason}` : ''})`);
    this.abort.abort();
    for (const sender of [...this.senders.values()]) sender.cancel('connection closed');
    const gone = errors.unavailable('connection closed before the stream ended');
    for (const reader of this.readers.values()) reader.fail(gone);
    for (const { reader, timer } of this.unclaimed.values()) {
      clearTimeout(timer);
      reader.fail(gone);
    }
    this.readers.clear();
    this.unclaimed.clear();
    this.flushWritableWaiters();
    for (const listener of this.closeListeners.splice(0)) listener(code, reason);
  }

  close(code = 1000, reason = ''): void {
    this.transport.close(code, reason);
  }

  private async receiveBatch(items: unknown[]): Promise<void> {
    const results = await Promise.all(items.map((item) => this.handleOne(classify(item))));
    const responses = results.filter((r): r is NonNullable<typeof r> => r !== undefined);
    // A batch of notifications (and responses) gets no answer at all, per the specification.
    if (responses.length === 0) return;
    this.sendText(JSON.stringify(responses.map((r) => r.message)), () => {
      for (const r of responses) r.afterSend?.();
    });
  }

  private async handleOne(
    incoming: Incoming,
  ): Promise<{ message: JSONRPCResponse; afterSend?: () => void } | undefined> {
    switch (incoming.kind) {
      case 'invalid':
        return { message: invalidRequest(incoming.id, 'not a valid JSON-RPC 2.0 request object') };
      case 'response':
        this.client.receive(incoming.message);
        return undefined;
      case 'notification':
        this.handleNotification(incoming.message);
        return undefined;
      case 'request':
        return this.handleRequest(incoming.message);
    }
  }

  private async handleRequest(
    request: JSONRPCRequest & { id: JSONRPCID },
  ): Promise<{ message: JSONRPCResponse; afterSend?: () => void }> {
    if (internalNotifications.has(request.method)) {
      this.handleNotification(request);
      return { message: { jsonrpc: '2.0', id: request.id, result: null } };
    }
    if (this.inFlight >= this.limits.maxInFlight) {
      const error = errors.rateLimited(
        `too many calls in flight on this connection (limit ${this.limits.maxInFlight}); wait for answers before sending more`,
      );
      return { message: { jsonrpc: '2.0', id: request.id, error: error.toJSON() } };
    }
    this.inFlight++;
    const opened: StreamSender[] = [];
    const ctx: CallContext = {
      peer: this,
      principal: this.principal,
      signal: this.abort.signal,
      openStream: () => {
        const sender = this.openStream();
        opened.push(sender);
        return sender;
      },
    };
    try {
      const response = (await this.server.receive(request, { ctx })) ?? {
        jsonrpc: '2.0' as const,
        id: request.id,
        result: null,
      };
      if (response.error) {
        for (const sender of opened) sender.cancel('the call that opened the stream failed');
        return { message: response };
      }
      return {
        message: response,
        afterSend: () => {
          for (const sender of opened) sender.uncork();
        },
      };
    } finally {
      this.inFlight--;
    }
  }

  private handleNotification(message: JSONRPCRequest): void {
    const params = (message.params ?? {}) as Record<string, unknown>;
    switch (message.method) {
      case 'stream.data':
        this.deliver(Number(params.id), params.data, this.frameBytes);
        return;
      case 'stream.end': {
        const reader = this.readerFor(Number(params.id));
        if (!reader) return;
        this.readers.delete(reader.id);
        if (params.error && typeof params.error === 'object') {
          const e = params.error as { code?: number; message?: string; data?: unknown };
          reader.fail(
            new RpcError(
              Number(e.code ?? ErrorCode.InternalError),
              String(e.message ?? 'stream failed'),
              e.data,
            ),
          );
        } else reader.end(params.final);
        return;
      }
      case 'stream.cancel':
        this.senders
          .get(Number(params.id))
          ?.cancel(typeof params.reason === 'string' ? params.reason : 'cancelled');
        return;
    }
    const listeners = this.notificationListeners.get(message.method);
    if (listeners?.size) {
      for (const listener of listeners) listener(message.params);
      return;
    }
    // A notification to a served method runs it and answers nothing, as the specification says.
    if (this.server.hasMethod(message.method)) {
      void this.server.receive(message, {
        ctx: {
          peer: this,
          principal: this.principal,
          signal: this.abort.signal,
          openStream: () => this.openStream(),
        },
      });
    }
  }

  private receiveBinary(data: Uint8Array): void {
    const frame = decodeFrame(data);
    if (frame) this.deliver(frame.streamId, frame.payload, frame.payload.byteLength);
  }

  private deliver(streamId: number, chunk: unknown, bytes?: number): void {
    this.readerFor(streamId)?.push(chunk, bytes);
  }

  /**
   * The reader of a stream the other side sends on, opened or not yet: data and even the end can
   * arrive before the caller has seen the result announcing the stream (ws hands over every
   * message of one TCP read before the caller's continuation runs).
   */
  private readerFor(streamId: number): StreamReader | undefined {
    // The other side allocates ids of the other parity; anything else is not a stream of theirs.
    const theirParity = this.role === 'client' ? 0 : 1;
    if (!Number.isInteger(streamId) || streamId <= 0 || streamId % 2 !== theirParity) return undefined;
    // Data already in flight when we cancelled: drop it, never start a new reader for it.
    if (this.cancelledIds.has(streamId)) return undefined;
    const reader = this.readers.get(streamId) ?? this.unclaimed.get(streamId)?.reader;
    if (reader) return reader;
    if (this.unclaimed.size >= MAX_UNCLAIMED_STREAMS) {
      this.notify('stream.cancel', { id: streamId, reason: 'too many unannounced streams' });
      return undefined;
    }
    return this.createUnclaimed(streamId);
  }

  private rememberCancelled(streamId: number): void {
    this.cancelledIds.add(streamId);
    if (this.cancelledIds.size > MAX_UNCLAIMED_STREAMS) {
      const oldest = this.cancelledIds.values().next().value;
      if (oldest !== undefined) this.cancelledIds.delete(oldest);
    }
  }

  /** Counts of live per-connection state, for tests and metrics: none of it may grow without bound. */
  stats(): {
    inFlight: number;
    senders: number;
    readers: number;
    unclaimed: number;
    notificationListeners: number;
  } {
    let listeners = 0;
    for (const set of this.notificationListeners.values()) listeners += set.size;
    return {
      inFlight: this.inFlight,
      senders: this.senders.size,
      readers: this.readers.size,
      unclaimed: this.unclaimed.size,
      notificationListeners: listeners,
    };
  }

  private createReader(streamId: number): StreamReader {
    const reader = new StreamReader(streamId, {
      cancel: (id, reason) => {
        this.readers.delete(id);
        this.rememberCancelled(id);
        this.queued(id, 0);
        this.notify('stream.cancel', { id, reason });
      },
      queued: (id, bytes) => this.queued(id, bytes),
    });
    this.readers.set(streamId, reader);
    void reader.done
      .finally(() => {
        this.readers.delete(streamId);
        this.queued(streamId, 0);
      })
      .catch(() => {});
    return reader;
  }

  /** Data for a stream nobody opened yet (the result announcing it is still on its way). */
  private createUnclaimed(streamId: number): StreamReader {
    const reader = this.createReader(streamId);
    const timer = setTimeout(() => {
      this.unclaimed.delete(streamId);
      reader.cancel('nobody opened the stream in time');
    }, this.limits.unclaimedStreamMs);
    timer.unref?.();
    this.unclaimed.set(streamId, { reader, timer });
    return reader;
  }

  /** Pauses the socket while any reader holds more than the high-water mark unconsumed. */
  private queued(streamId: number, bytes: number): void {
    const wasFull = this.fullReaders.size > 0;
    if (this.unclaimed.has(streamId) || this.unclaimedBytes.has(streamId)) {
      this.unclaimedTotal -= this.unclaimedBytes.get(streamId) ?? 0;
      if (this.unclaimed.has(streamId) && bytes > 0) {
        this.unclaimedBytes.set(streamId, bytes);
        this.unclaimedTotal += bytes;
      } else this.unclaimedBytes.delete(streamId);
      this.mark(UNCLAIMED, this.unclaimedTotal);
    }
    this.mark(streamId, this.unclaimed.has(streamId) ? 0 : bytes);
    const isFull = this.fullReaders.size > 0;
    if (isFull && !wasFull) this.transport.pauseReading?.();
    if (!isFull && wasFull) this.transport.resumeReading?.();
  }
  private mark(key: number, bytes: number): void {
    if (bytes > this.limits.highWaterBytes) this.fullReaders.add(key);
    else if (bytes <= this.limits.highWaterBytes / 2) this.fullReaders.delete(key);
  }

  private waitWritable(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.writableWaiters.push(resolve);
      if (!this.transport.whenBufferedBelow) return this.pollWritable();
      // Resolved here, or by the close (which flushes every waiter) if that comes first.
      void this.transport
        .whenBufferedBelow(this.limits.highWaterBytes)
        .then(() => this.flushWritableWaiters());
    });
  }

  /** Browsers expose no drain event; a short poll of bufferedAmount serves every adapter alike. */
  private pollWritable(): void {
    if (this.writablePoll) return;
    const check = () => {
      this.writablePoll = undefined;
      if (this.isClosed || this.transport.bufferedAmount <= this.limits.highWaterBytes) {
        return this.flushWritableWaiters();
      }
      if (this.writableWaiters.length) this.writablePoll = setTimeout(check, 2);
    };
    this.writablePoll = setTimeout(check, 1);
  }

  private flushWritableWaiters(): void {
    for (const resolve of this.writableWaiters.splice(0)) resolve();
  }

  private sendText(text: string, afterSend?: () => void): void {
    if (this.isClosed) return;
    this.transport.send(text);
    afterSend?.();
  }

  private sendBinary(frame: Uint8Array): void {
    if (this.isClosed) return;
    this.transport.send(frame);
  }

  private mapError(id: JSONRPCID, error: unknown): JSONRPCErrorResponse {
    if (error instanceof RpcError) return { jsonrpc: '2.0', id, error: error.toJSON() };
    this.onInternalError('(dispatch)', error);
    return createJSONRPCErrorResponse(
      id,
      ErrorCode.InternalError,
      'internal error; the server logged the details',
    );
  }
}

function invalidRequest(id: JSONRPCID, detail: string): JSONRPCErrorResponse {
  return createJSONRPCErrorResponse(id, ErrorCode.InvalidRequest, `Invalid Request: ${detail}`);
}
