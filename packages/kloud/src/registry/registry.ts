/**
 * Koding's kontrol: every Klient connects *out* to Kloud with its kite.key and keeps that link
 * open. The registry authenticates the link (signature, issuer, audience, and that the key's
 * kite id is the machine's current one: a rebuilt or destroyed machine's old key is refused),
 * tracks which machines are online and when each was last seen, and lets the rest of Kloud
 * call a machine over its link (provisioners, tunnel requests, usage for idle checks).
 *
 * Offline detection: the endpoint pings every `heartbeatMs` and drops a link that misses two
 * pongs, so a Klient that stops answering shows offline within 3 × heartbeatMs.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Store } from '@kk/backend/store/store.js';
import type { MethodName, ParamsOf, ResultOf } from '@kk/protocol/catalogue/index.js';
import { errors as rpcErrors } from '@kk/protocol/errors.js';
import { type Peer, type Principal, RpcEndpoint, verifyKiteKey } from '@kk/protocol/node.js';
import { decodeProtectedHeader, type JWTVerifyGetKey } from 'jose';
import type { Logger } from 'pino';
import { asRpcError, withRpcErrors } from '../api/backend-error.js';

/** Announced (payload: kite id) once a process recorded a Klient's link in the store, for waiters elsewhere. */
export const LINK_UP_CHANNEL = 'kk_link_up';

export interface Link {
  kiteId: string;
  machineId: string;
  peer: Peer;
  connectedAt: number;
  /** Where the Klient says it listens for direct connections. */
  url?: string;
  version?: string;
  /** The signing key id of the kite.key the Klient connected with. */
  kid?: string;
}

export interface RegistryOptions {
  store: Store;
  keys: JWTVerifyGetKey;
  issuer: string;
  /** This process's own address: recorded as the link holder, so another process can relay callers here. */
  holder: string;
  heartbeatMs: number;
  log: Logger;
  /** The key id that signs now, and a fresh kite.key for a machine: for re-keying after rotation. */
  signingKid: () => string;
  issueKiteKey: (machineId: string, kiteId: string) => Promise<string>;
}

export class Registry {
  readonly endpoint: RpcEndpoint;
  private readonly links = new Map<string, Link>();
  private closing = false;
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(private readonly options: RegistryOptions) {
    this.endpoint = new RpcEndpoint({
      authenticate: (token) => this.authenticate(token),
      limits: { heartbeatMs: options.heartbeatMs },
      methods: (principal) => ({
        // While the database is away a Klient hears Unavailable (4503, retry), not an internal error.
        'kite.register': withRpcErrors(async (params) => {
          const link = this.links.get(String(principal.kiteId));
          if (link) {
            link.url = params.url;
            link.version = params.version;
          }
          const machineId = String(principal.machineId);
          await options.store.machines.setRegistry(machineId, { online: true, linkHolder: options.holder });
          const machine = await options.store.machines.get(machineId);
          if (machine && params.url && machine.queryString !== params.url)
            await options.store.machines.setRuntime(machineId, { queryString: params.url }, null);
          return { machineId: String(principal.machineId), heartbeatMs: options.heartbeatMs };
        }),
        'kite.heartbeat': withRpcErrors(async () => {
          const at = Date.now();
          const kiteId = String(principal.kiteId);
          if (!this.link(kiteId)) return { at };
          // Only a record naming this process is refreshed. One cleared behind it (another
          // process dropped the link for a stop or restart, or took this process for dead) must
          // not come back online by a heartbeat: the link is closed and the Klient links again,
          // recorded anew wherever it lands.
          const res = await options.store.conn.db
            .updateTable('machines')
            .set({ online: 1, lastSeenAt: at })
            .where('id', '=', String(principal.machineId))
            .where('kiteId', '=', kiteId)
            .where('linkHolder', '=', options.holder)
            .executeTakeFirst();
          if (Number(res.numUpdatedRows) === 0)
            await this.disconnect(kiteId, 'the link is no longer recorded here; link again');
          return { at };
        }),
      }),
      onConnection: (peer) => this.onLink(peer),
      onInternalError: (method, err) => options.log.error({ err, method }, 'registry method failed'),
    });
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    void this.endpoint.handleUpgrade(req, socket, head);
  }

  /** A kite.key is good if it verifies and names a machine whose current kite id it is. */
  async authenticate(token: string | undefined): Promise<Principal> {
    const claims = await verifyKiteKey(token, this.options.keys, this.options.issuer);
    const machine = await this.options.store.machines.byKiteId(claims.jti).catch((err: unknown) => {
      throw asRpcError(err);
    });
    if (!machine)
      throw rpcErrors.unauthenticated(
        'kite.key is not the current key of any machine (rebuilt or destroyed?)',
      );
    return {
      sub: machine.id,
      scope: 'owner',
      kiteId: claims.jti,
      kid: decodeProtectedHeader(token!).kid,
      machineId: machine.id,
      ownerId: machine.ownerId,
    };
  }

  private onLink(peer: Peer): void {
    const kiteId = String(peer.principal.kiteId);
    const machineId = String(peer.principal.machineId);
    const previous = this.links.get(kiteId);
    // One link per machine: a reconnecting Klient replaces its stale link.
    if (previous) previous.peer.close(4000, 'replaced by a newer connection');
    const link: Link = {
      kiteId,
      machineId,
      peer,
      connectedAt: Date.now(),
      kid: peer.principal.kid as string | undefined,
    };
    void this.rekey(link);
    this.links.set(kiteId, link);
    this.options.log.info({ machineId, kiteId }, 'klient connected');
    void this.options.store.machines
      .setRegistry(machineId, { online: true, linkHolder: this.options.holder })
      .then(() => this.options.store.notifier.publish(LINK_UP_CHANNEL, kiteId))
      .catch((err: unknown) => this.options.log.warn({ err, machineId }, 'could not record klient online'));
    for (const wake of this.waiters.get(kiteId) ?? []) wake();
    peer.onClose(() => {
      if (this.closing || this.links.get(kiteId) !== link) return;
      this.links.delete(kiteId);
      this.options.log.info({ machineId, kiteId }, 'klient disconnected');
      void this.recordOffline(link);
    });
  }

  /** Records the machine offline, if the store still names this process as its link's holder. */
  private async recordOffline(link: Link): Promise<void> {
    await this.options.store.conn.db
      .updateTable('machines')
      .set({ online: 0, lastSeenAt: Date.now(), linkHolder: null })
      .where('id', '=', link.machineId)
      .where('kiteId', '=', link.kiteId)
      // The Klient may already have linked to another process: only our record is ours to clear.
      .where('linkHolder', '=', this.options.holder)
      .execute()
      .catch((err: unknown) =>
        this.options.log.warn({ err, machineId: link.machineId }, 'could not record klient offline'),
      );
  }

  link(kiteId: string): Link | undefined {
    const link = this.links.get(kiteId);
    return link && !link.peer.closed ? link : undefined;
  }

  isOnline(kiteId: string): boolean {
    return this.link(kiteId) !== undefined;
  }

  waitOnline(kiteId: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (this.isOnline(kiteId)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const set = this.waiters.get(kiteId) ?? new Set<() => void>();
      this.waiters.set(kiteId, set);
      const done = (err?: unknown) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        set.delete(wake);
        if (set.size === 0) this.waiters.delete(kiteId);
        if (err) reject(err);
        else resolve();
      };
      const wake = () => done();
      const onAbort = () => done(signal.reason);
      const timer = setTimeout(
        () => done(rpcErrors.timeout(`klient ${kiteId} did not register within ${timeoutMs} ms`)),
        timeoutMs,
      );
      set.add(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Calls a method on a registered Klient over its link. */
  async call<M extends MethodName>(
    kiteId: string,
    method: M,
    params: ParamsOf<M>,
    timeoutMs?: number,
  ): Promise<ResultOf<M>> {
    const link = this.link(kiteId);
    if (!link) throw rpcErrors.unavailable(`machine's klient is offline (kite ${kiteId})`);
    return link.peer.call(method, params, { timeoutMs });
  }

  /**
   * Drops a link now: it stops counting as online at once (a restart then waits for the new
   * Klient, not the closing one) and the machine reads offline until a Klient registers again.
   */
  async disconnect(kiteId: string, reason: string): Promise<void> {
    const link = this.links.get(kiteId);
    if (!link) return;
    this.links.delete(kiteId);
    link.peer.close(4003, reason);
    await this.recordOffline(link);
  }

  /**
   * Gives a Klient whose kite.key was signed by an older key a fresh one (same kite id), so a
   * rotated-out key can be retired without rebuilding machines. Runs on every connection and
   * for every link after a rotation.
   */
  async rekey(link: Link): Promise<void> {
    if (link.kid === this.options.signingKid()) return;
    try {
      const kiteKey = await this.options.issueKiteKey(link.machineId, link.kiteId);
      await link.peer.call('kite.rotateKey', { kiteKey }, { timeoutMs: 15_000 });
      link.kid = this.options.signingKid();
      this.options.log.info({ machineId: link.machineId }, 'kite.key replaced after a key rotation');
    } catch (err) {
      this.options.log.warn(
        { err, machineId: link.machineId },
        'could not replace a kite.key; will retry on reconnect',
      );
    }
  }

  /** After a rotation: re-key every connected Klient; resolves when each was tried. */
  async rekeyAll(): Promise<void> {
    await Promise.all([...this.links.values()].map((l) => this.rekey(l)));
  }

  /**
   * Stops accepting Klients and records every link this process held as offline, in one write,
   * before the caller closes the store (the links' own close events come after that).
   */
  async close(): Promise<void> {
    this.closing = true;
    const machineIds = [...this.links.values()].map((link) => link.machineId);
    this.links.clear();
    this.endpoint.close();
    if (machineIds.length === 0) return;
    await this.options.store.conn.db
      .updateTable('machines')
      .set({ online: 0, lastSeenAt: Date.now(), linkHolder: null })
      .where('id', 'in', machineIds)
      .where('linkHolder', '=', this.options.holder)
      .execute()
      .catch((err: unknown) =>
        this.options.log.warn({ err }, 'could not record klients offline at shutdown'),
      );
  }
}
