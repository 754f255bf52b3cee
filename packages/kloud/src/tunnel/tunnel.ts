/**
 * Koding's tunnelproxy: a caller reaches a machine's Klient through Kloud, over a connection
 * the Klient opens *out*, so machines behind NAT work.
 *
 *   caller ── GET /machines/<id>/klient (WebSocket upgrade, access token) ──► Kloud
 *   Kloud ── tunnel.open {channelId} over the registry link ──► Klient
 *   Klient ── GET /tunnel/<channelId> (Upgrade: kloud-tunnel, kite.key) ──► Kloud
 *   Kloud replays the caller's upgrade request into that connection and splices the two.
 *
 * The caller's WebSocket is thus end to end with the Klient's own server, which checks the
 * token and each method's scope exactly as for a direct connection; Kloud moves bytes only.
 * Before joining, Kloud checks the token (signature, audience = the machine's kite id, expiry)
 * and the caller's *current* access, so an unshared user is refused even with a live token.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import type { Store } from '@kk/backend/store/store.js';
import { AuthThrottle } from '@kk/protocol/node/auth-throttle.js';
import { upgradeToken, verifyAccessToken, verifyKiteKey } from '@kk/protocol/node.js';
import type { JWTVerifyGetKey } from 'jose';
import type { Logger } from 'pino';
import { kloudErrors } from '../errors.js';
import { machineAccess, scopeCovers } from '../machines/access.js';
import type { Registry } from '../registry/registry.js';
import { refuseUpgrade, refuseUpgradeWith } from '../server/refuse-upgrade.js';
import { requestHead, type Splice, splice } from './splice.js';

export const TUNNEL_PROTOCOL = 'kloud-tunnel';
/** Marks a caller's upgrade one Kloud process relayed to another (so it is relayed at most once). */
const RELAYED_HEADER = 'x-kloud-relayed';

export interface TunnelOptions {
  store: Store;
  registry: Registry;
  keys: JWTVerifyGetKey;
  issuer: string;
  log: Logger;
  /** This process's own address, as recorded in a machine's link holder by the registry. */
  self: string;
  /** How long Kloud waits for the Klient's data connection. */
  openTimeoutMs?: number;
}

interface PendingChannel {
  kiteId: string;
  resolve(socket: Duplex, head: Buffer): void;
}

interface LiveConnection {
  userId: string;
  splice: Splice;
}

export class Tunnel {
  private readonly pending = new Map<string, PendingChannel>();
  private readonly live = new Map<string, Set<LiveConnection>>();
  /** Callers whose access tokens fail, per address: the same rule as Kloud's other doors. */
  private readonly throttle = new AuthThrottle();
  /** The same for kite.keys failing at the data door (`/tunnel/<channel>`), counted apart. */
  private readonly klientThrottle = new AuthThrottle();

  constructor(private readonly options: TunnelOptions) {}

  /** `/machines/<machineId>/klient`: a caller with an access token. */
  async handleCaller(req: IncomingMessage, socket: Duplex, head: Buffer, machineId: string): Promise<void> {
    socket.on('error', () => socket.destroy());
    const address = req.socket.remoteAddress ?? 'unknown';
    if (refusedAsThrottled(socket, this.throttle, address)) return;
    let kiteId: string;
    let userId: string;
    try {
      const machine = await this.options.store.machines.get(machineId);
      if (!machine) throw kloudErrors.notFound(`no machine ${machineId}`);
      if (!machine.kiteId)
        throw kloudErrors.unavailable(`machine ${machineId} has no Klient (it is ${machine.status.state})`);
      kiteId = machine.kiteId;
      const claims = await verifyAccessToken(upgradeToken(req), this.options.keys, {
        issuer: this.options.issuer,
        kiteId,
      }).catch((err: unknown) => {
        this.throttle.fail(address);
        throw err;
      });
      userId = claims.sub;
      const viewer = await this.options.store.viewer(userId).catch(() => undefined);
      const access = viewer && machineAccess(viewer, machine);
      if (!access) throw kloudErrors.forbidden(`machine ${machineId} is not shared with you`);
      if (!scopeCovers(access, claims.scope))
        throw kloudErrors.forbidden(`your access to machine ${machineId} is now ${access}; get a new token`);
      if (!this.options.registry.isOnline(kiteId)) {
        // Linked to another Kloud process (PostgreSQL, several processes): relay the caller there,
        // once — a relayed request that misses here too is refused, never bounced on.
        const holder = machine.registry.online ? machine.registry.linkHolder : null;
        const relayed = req.headers[RELAYED_HEADER] !== undefined;
        if (!holder || holder === this.options.self || relayed || !/^https?:\/\//.test(holder))
          throw kloudErrors.unavailable(`machine ${machineId}'s Klient is offline`);
        return this.relayToHolder(req, socket, head, { machineId, userId, holder });
      }
    } catch (err) {
      return refuseUpgradeWith(socket, err);
    }
    socket.pause();
    const channelId = randomUUID();
    const timeoutMs = this.options.openTimeoutMs ?? 15_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const data = new Promise<{ socket: Duplex; head: Buffer }>((resolve, reject) => {
      this.pending.set(channelId, { kiteId, resolve: (s, h) => resolve({ socket: s, head: h }) });
      timer = setTimeout(
        () => reject(kloudErrors.timeout(`the Klient did not open the channel within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await this.options.registry.call(kiteId, 'tunnel.open', { channelId }, timeoutMs);
      const klient = await data;
      if (socket.destroyed) {
        klient.socket.destroy();
        return;
      }
      // The Klient's server sees the caller's own upgrade request, then the caller's bytes.
      const joined = splice(socket, klient.socket, {
        toMachine: Buffer.concat([requestHead(req, req.socket.remoteAddress), head]),
        toCaller: klient.head,
      });
      this.track(machineId, userId, joined);
    } catch (err) {
      this.options.log.warn({ err, machineId }, 'tunnel open failed');
      refuseUpgradeWith(socket, err);
    } finally {
      clearTimeout(timer);
      this.pending.delete(channelId);
    }
  }

  /** Passes the caller's upgrade, byte for byte, to the Kloud process holding the machine's link. */
  private relayToHolder(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    to: { machineId: string; userId: string; holder: string },
  ): void {
    socket.pause();
    const url = new URL(to.holder);
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const upstream =
      url.protocol === 'https:'
        ? tlsConnect({ host: url.hostname, port, servername: url.hostname })
        : netConnect(port, url.hostname);
    upstream.once('error', (err) => {
      this.options.log.warn(
        { err, machineId: to.machineId, holder: to.holder },
        'relay to the link holder failed',
      );
      refuseUpgrade(
        socket,
        503,
        'Unavailable',
        "the Kloud process holding the machine's link is unreachable; retry",
      );
    });
    upstream.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      const joined = splice(socket, upstream, {
        toMachine: Buffer.concat([
          requestHead(req, req.socket.remoteAddress, { [RELAYED_HEADER]: '1' }),
          head,
        ]),
      });
      this.track(to.machineId, to.userId, joined);
    });
  }

  private track(machineId: string, userId: string, joined: Splice): void {
    const entry: LiveConnection = { userId, splice: joined };
    const set = this.live.get(machineId) ?? new Set<LiveConnection>();
    this.live.set(machineId, set);
    set.add(entry);
    void joined.done.then(() => {
      set.delete(entry);
      if (set.size === 0 && this.live.get(machineId) === set) this.live.delete(machineId);
    });
  }

  /** `/tunnel/<channelId>`: the Klient's data connection for a channel it was asked to open. */
  async handleKlient(req: IncomingMessage, socket: Duplex, head: Buffer, channelId: string): Promise<void> {
    socket.on('error', () => socket.destroy());
    const address = req.socket.remoteAddress ?? 'unknown';
    if (refusedAsThrottled(socket, this.klientThrottle, address)) return;
    if ((req.headers.upgrade ?? '').toLowerCase() !== TUNNEL_PROTOCOL)
      return refuseUpgrade(socket, 400, 'InvalidParams', `upgrade to ${TUNNEL_PROTOCOL} expected`);
    // The key first, then the channel: a guess at keys is counted whatever channel it names.
    let kiteId: string;
    try {
      kiteId = (await verifyKiteKey(upgradeToken(req), this.options.keys, this.options.issuer)).jti;
    } catch (err) {
      this.klientThrottle.fail(address);
      return refuseUpgradeWith(socket, err);
    }
    const channel = this.pending.get(channelId);
    if (!channel)
      return refuseUpgrade(socket, 404, 'NotFound', 'no such channel (expired or already joined)');
    if (kiteId !== channel.kiteId) {
      this.klientThrottle.fail(address);
      return refuseUpgradeWith(socket, kloudErrors.forbidden('this channel belongs to another machine'));
    }
    if (!this.pending.delete(channelId))
      return refuseUpgrade(socket, 404, 'NotFound', 'channel already joined');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${TUNNEL_PROTOCOL}\r\n\r\n`,
    );
    channel.resolve(socket, head);
  }

  /**
   * Closes a user's live connections to a machine (unshare), or everyone's (undefined), on this
   * process; each is closed once, so a repeated order is a no-op. `closeEverywhere` reaches the others.
   */
  closeConnections(machineId: string, userId: string | undefined, reason: string): number {
    const set = this.live.get(machineId);
    let closed = 0;
    for (const entry of set ?? []) {
      if (userId !== undefined && entry.userId !== userId) continue;
      set!.delete(entry);
      entry.splice.close({ code: 4003, reason });
      closed++;
    }
    if (set?.size === 0) this.live.delete(machineId);
    return closed;
  }

  liveCount(machineId: string): number {
    return this.live.get(machineId)?.size ?? 0;
  }

  close(): void {
    for (const set of this.live.values())
      for (const e of set) e.splice.close({ code: 1001, reason: 'Kloud shutting down' });
    this.live.clear();
  }
}

/** Answers 429 with Retry-After, before any token is looked at, when `address` failed too often. */
function refusedAsThrottled(socket: Duplex, throttle: AuthThrottle, address: string): boolean {
  const wait = throttle.retryAfter(address);
  if (wait <= 0) return false;
  const seconds = Math.ceil(wait / 1000);
  refuseUpgrade(socket, 429, 'RateLimited', `too many failed logins; try again in ${seconds} s`, {
    'Retry-After': String(seconds),
  });
  return true;
}
