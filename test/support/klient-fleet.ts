/**
 * A fleet of simulated Klients for scale tests and benchmarks. Each is light (no process, no
 * PTY) but real on the wire: a machine record in Kloud's store with its own kite id, a kite.key
 * signed by Kloud's keys, a WebSocket to `/klient/register` speaking the protocol Klient speaks
 * (`kite.register`, then `kite.heartbeat` at the interval Kloud answers, Kloud's pings answered),
 * and `tunnel.open` served with a real data channel, so a caller routed through Kloud reaches it
 * and is authenticated with its access token exactly as a Klient would (JWKS from Kloud).
 *
 * Heartbeat lag, two ways: `toKloud`, from the moment a Klient sends `kite.heartbeat` to the
 * moment Kloud's handler stamps it (`at`, the last-seen time it records; same host, same clock);
 * and `roundTrip`, until the answer is back, which Kloud sends only after it has written the
 * heartbeat to its store. The round trip also holds this process's own delays in reading answers.
 */
import type { User } from '@kk/backend/repos/users.js';
import type { Store } from '@kk/backend/store/store.js';
import { channelAcceptor, openChannel } from '@kk/klient/registration/channel.js';
import { registrationUrl } from '@kk/klient/registration/link.js';
import type { RpcClient } from '@kk/protocol/client/client.js';
import { connect, keyResolver, RpcEndpoint, verifyAccessToken } from '@kk/protocol/node.js';
import { issueKiteKey, type KeySet } from '@kk/protocol/tokens/index.js';

export interface FleetOptions {
  kloudUrl: string;
  /** Kloud's store (the same database) and signing keys, to make the machines and their keys. */
  store: Store;
  keys: KeySet;
  owner: User;
  count: number;
  /** Connections opened at once while the fleet comes up. */
  concurrency?: number;
  /** Called as Klients register (for progress output). */
  onProgress?: (registered: number) => void;
}

export interface SimulatedKlient {
  machineId: string;
  kiteId: string;
  client: RpcClient;
  /** Callers that reached this Klient through Kloud's tunnel. */
  tunnelled: number;
}

export interface Lags {
  toKloud: number[];
  roundTrip: number[];
}

export interface Fleet {
  klients: SimulatedKlient[];
  /** Heartbeat lags in ms since the last `takeLags()`. */
  takeLags(): Lags;
  heartbeatFailures: number;
  close(): void;
}

/** Makes `count` machine records (kite id set, as a build does) and their kite.keys. */
async function machines(
  options: FleetOptions,
): Promise<Array<{ machineId: string; kiteId: string; kiteKey: string }>> {
  const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const out = [];
  for (let i = 0; i < options.count; i++) {
    const kiteId = `sim-${run}-${i}`;
    const machine = await options.store.machines.create(
      { provider: 'local', label: `sim-${i}`, meta: { simulated: true } },
      options.owner,
    );
    await options.store.machines.setRuntime(machine.id, { kiteId }, null);
    const kiteKey = await issueKiteKey(options.keys, {
      issuer: options.kloudUrl,
      owner: options.owner.id,
      kiteId,
    });
    out.push({ machineId: machine.id, kiteId, kiteKey });
  }
  return out;
}

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const records = await machines(options);
  const jwks = keyResolver(new URL('/.well-known/jwks.json', options.kloudUrl));
  const timers = new Set<ReturnType<typeof setInterval | typeof setTimeout>>();
  let lags: Lags = { toKloud: [], roundTrip: [] };
  const fleet: Fleet = {
    klients: [],
    takeLags: () => {
      const taken = lags;
      lags = { toKloud: [], roundTrip: [] };
      return taken;
    },
    heartbeatFailures: 0,
    close: () => {
      for (const t of timers) clearTimeout(t);
      for (const k of fleet.klients) k.client.close();
    },
  };

  const start = (record: (typeof records)[number]): Promise<SimulatedKlient> => {
    let endpoint: RpcEndpoint | undefined;
    const klient: SimulatedKlient = {
      machineId: record.machineId,
      kiteId: record.kiteId,
      client: undefined!,
      tunnelled: 0,
    };
    // A Klient's own endpoint for callers routed through Kloud: made on the first one.
    const callers = () =>
      (endpoint ??= new RpcEndpoint({
        authenticate: async (token) => {
          const claims = await verifyAccessToken(token, jwks, {
            issuer: options.kloudUrl,
            kiteId: record.kiteId,
          });
          return { sub: claims.sub, scope: claims.scope, expiresAt: claims.exp * 1000 };
        },
        methods: { 'klient.ping': async () => ({ pong: true as const, at: Date.now() }) },
        onConnection: () => klient.tunnelled++,
      }));
    return new Promise<SimulatedKlient>((resolve) => {
      klient.client = connect(registrationUrl(options.kloudUrl), record.kiteKey, {
        remotePrincipal: { sub: 'kloud', scope: 'owner' },
        methods: {
          'klient.ping': async () => ({ pong: true as const, at: Date.now() }),
          'tunnel.open': async ({ channelId }) => {
            await openChannel(
              { kloudUrl: options.kloudUrl, kiteKey: record.kiteKey, timeoutMs: 30_000 },
              channelId,
              channelAcceptor(callers()),
            );
            return { ok: true as const };
          },
        },
      });
      klient.client.onConnect(async (peer) => {
        const reg = await peer.call('kite.register', { version: 'simulated', hostname: 'fleet' });
        resolve(klient);
        // Real Klients start at random moments; so do these heartbeats (one interval's jitter).
        const beat = async () => {
          const started = performance.now();
          const sentAt = Date.now();
          try {
            const { at } = await peer.call('kite.heartbeat', {}, { timeoutMs: reg.heartbeatMs * 2 });
            lags.roundTrip.push(performance.now() - started);
            lags.toKloud.push(at - sentAt);
          } catch {
            fleet.heartbeatFailures++;
          }
          if (!peer.closed) schedule(reg.heartbeatMs);
        };
        const schedule = (ms: number) => {
          const timer = setTimeout(() => {
            timers.delete(timer);
            void beat();
          }, ms);
          timers.add(timer);
        };
        schedule(Math.random() * reg.heartbeatMs);
      });
    });
  };

  const concurrency = options.concurrency ?? 100;
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, records.length) }, async () => {
    while (next < records.length) {
      const record = records[next++]!;
      fleet.klients.push(await start(record));
      options.onProgress?.(fleet.klients.length);
    }
  });
  await Promise.all(workers);
  return fleet;
}
