/**
 * Wake-ups across processes: "something was appended on this channel". PostgreSQL: `NOTIFY`,
 * with one dedicated `LISTEN` connection per process that reconnects (with backoff) when the
 * server drops it, so a subscriber in any Kloud process hears what any other appended. SQLite
 * (one process): in memory. A notification is a wake-up, not a log: while the LISTEN connection
 * is down notifications are lost, so a subscriber that must see everything reads on from the last
 * position it saw (the store's `list({after})`) when it wakes.
 */
import { sql } from 'kysely';
import pg from 'pg';
import type { Db } from './db.js';

export type NotifyListener = (payload: string) => void;

/** Where the store reports trouble it recovers from, and the recovery. */
export interface StoreLogger {
  warn(obj: object, msg: string): void;
  info?(obj: object, msg: string): void;
}

export interface Notifier {
  /** Announces `payload` on `channel`; with PostgreSQL it is delivered once the caller's write committed. */
  publish(channel: string, payload: string): Promise<void>;
  /** Resolves once listening (so nothing published after it is missed); returns the unsubscribe. */
  subscribe(channel: string, listener: NotifyListener): Promise<() => void>;
  /**
   * Calls `listener` each time listening resumes after the connection was lost (notifications
   * sent meanwhile were missed: read on from the last position seen). Returns the unsubscribe.
   */
  onRestored(listener: () => void): () => void;
  close(): Promise<void>;
}

type Listeners = Map<string, Set<NotifyListener>>;

function add(listeners: Listeners, channel: string, listener: NotifyListener): () => void {
  const set = listeners.get(channel) ?? new Set<NotifyListener>();
  listeners.set(channel, set);
  set.add(listener);
  return () => set.delete(listener);
}

function deliver(listeners: Listeners, channel: string, payload: string): void {
  for (const listener of listeners.get(channel) ?? []) {
    try {
      listener(payload);
    } catch {
      // A listener's failure is its own; the others still hear the news.
    }
  }
}

export function memoryNotifier(): Notifier {
  const listeners: Listeners = new Map();
  return {
    async publish(channel, payload) {
      queueMicrotask(() => deliver(listeners, channel, payload));
    },
    async subscribe(channel, listener) {
      return add(listeners, channel, listener);
    },
    // In memory nothing is ever missed.
    onRestored: () => () => undefined,
    async close() {
      listeners.clear();
    },
  };
}

/** Channel names are ours (constants), never user input; quoted as identifiers all the same. */
const ident = (channel: string) => `"${channel.replace(/"/g, '""')}"`;

export function postgresNotifier(db: Db, databaseUrl: string, logger?: StoreLogger): Notifier {
  const listeners: Listeners = new Map();
  const restored = new Set<() => void>();
  let client: Promise<pg.Client> | undefined;
  let current: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let failures = 0;
  let dropped = false;

  const scheduleReconnect = () => {
    if (closed || retry) return;
    const delay = Math.min(5_000, 100 * 2 ** failures++);
    retry = setTimeout(() => {
      retry = undefined;
      if (!closed && !client) client = connect();
    }, delay);
    retry.unref();
  };

  const drop = (c: pg.Client) => {
    dropped = true;
    c.end().catch(() => undefined);
    current = undefined;
    client = undefined;
    scheduleReconnect();
  };

  const connect = (): Promise<pg.Client> => {
    const c = new pg.Client({ connectionString: databaseUrl });
    current = c;
    c.on('notification', (msg) => deliver(listeners, msg.channel, msg.payload ?? ''));
    c.on('error', (err) => {
      if (c !== current) return;
      logger?.warn({ err: err.message }, 'event LISTEN connection dropped; reconnecting');
      drop(c);
    });
    const ready = (async () => {
      await c.connect();
      for (const channel of listeners.keys()) await c.query(`LISTEN ${ident(channel)}`);
      if (dropped) {
        logger?.info?.({ channels: [...listeners.keys()] }, 'event LISTEN connection restored');
        for (const listener of restored) {
          try {
            listener();
          } catch {
            // One listener's failure is its own.
          }
        }
      }
      dropped = false;
      failures = 0;
      return c;
    })();
    ready.catch(() => {
      if (c === current) drop(c);
    });
    return ready;
  };

  return {
    async publish(channel, payload) {
      await sql`select pg_notify(${channel}, ${payload})`.execute(db);
    },
    async subscribe(channel, listener) {
      const isNew = !listeners.has(channel);
      const remove = add(listeners, channel, listener);
      if (!client) client = connect();
      else if (isNew) await (await client).query(`LISTEN ${ident(channel)}`);
      await client;
      return remove;
    },
    onRestored(listener) {
      restored.add(listener);
      return () => restored.delete(listener);
    },
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      const c = await client?.catch(() => undefined);
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}
