/**
 * The store: every repository over one connection. `openStore` opens SQLite or PostgreSQL per the
 * config, applies migrations, and opens the credential keyring.
 */
import type { Viewer } from '../access/viewer.js';
import { type Keyring, openKeyring } from '../crypto/keyring.js';
import { errors } from '../errors.js';
import { auditRepo } from '../repos/audit.js';
import { credentialsRepo } from '../repos/credentials.js';
import { eventsRepo } from '../repos/events.js';
import { groupsRepo } from '../repos/groups.js';
import { jobsRepo } from '../repos/jobs.js';
import { leasesRepo } from '../repos/leases.js';
import { machinesRepo } from '../repos/machines.js';
import { provisionersRepo } from '../repos/provisioners.js';
import { stacksRepo } from '../repos/stacks.js';
import { templatesRepo } from '../repos/templates.js';
import { tokensRepo } from '../repos/tokens.js';
import { type User, usersRepo } from '../repos/users.js';
import { type Connection, openConnection } from './db.js';
import { memoryNotifier, type Notifier, postgresNotifier, type StoreLogger } from './notify.js';

export interface StoreOptions {
  dataDir: string;
  databaseUrl?: string;
  credentialKey?: string;
  credentialOldKeys?: string[];
  /** PostgreSQL pool size; default 10. */
  poolSize?: number;
  /** Where the store reports trouble it recovers from (a dropped PostgreSQL connection). A pino logger fits. */
  logger?: StoreLogger;
  /** A keyring to use instead of the one the options name (tests, rotation). */
  keyring?: Keyring;
}

function repos(conn: Connection, keyring: Keyring, notifier: Notifier) {
  const audit = auditRepo(conn.db);
  const ctx = { conn, audit };
  return {
    audit,
    users: usersRepo(ctx),
    tokens: tokensRepo(ctx),
    groups: groupsRepo(ctx),
    credentials: credentialsRepo(ctx, keyring),
    templates: templatesRepo(ctx),
    stacks: stacksRepo(ctx),
    machines: machinesRepo(ctx),
    provisioners: provisionersRepo(ctx),
    leases: leasesRepo(conn.db),
    jobs: jobsRepo(conn),
    events: eventsRepo(conn.db, notifier),
  };
}

export type Store = ReturnType<typeof repos> & {
  /** `sqlite` or `postgres`. */
  kind: Connection['kind'];
  /** The SQLite file, or the PostgreSQL host and database (no password), for logs. */
  location: string;
  conn: Connection;
  keyring: Keyring;
  /**
   * Wake-ups on channels of the caller's own, heard by every process sharing the store
   * (PostgreSQL `NOTIFY`, one LISTEN connection per process; in memory for SQLite). Kloud fans
   * out orders such as "close these tunnel connections" on it.
   */
  notifier: Notifier;
  /** Who `userId` is, with their groups: what every access check takes. */
  viewer(userId: string): Promise<Viewer>;
  /** The same for a user already read. */
  viewerOf(user: User): Promise<Viewer>;
  /** True when the database answers a query (for /readyz). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
};

export async function openStore(options: StoreOptions): Promise<Store> {
  const conn = await openConnection({
    ...options,
    onPoolError: (err) =>
      options.logger?.warn({ err: err.message }, 'database connection dropped; it will be replaced'),
  });
  const keyring = options.keyring ?? openKeyring(options);
  const notifier =
    conn.kind === 'postgres' && options.databaseUrl
      ? postgresNotifier(conn.db, options.databaseUrl, options.logger)
      : memoryNotifier();
  const r = repos(conn, keyring, notifier);
  const viewerOf = async (user: User): Promise<Viewer> => ({
    id: user.id,
    isAdmin: user.isAdmin,
    groupIds: await r.groups.idsOf(user.id),
  });
  return {
    ...r,
    kind: conn.kind,
    location: conn.location,
    conn,
    keyring,
    notifier,
    async viewer(userId: string): Promise<Viewer> {
      const user = await r.users.get(userId);
      if (!user) throw errors.notFound(`no such user: ${userId}`);
      return viewerOf(user);
    },
    viewerOf,
    async ping(): Promise<boolean> {
      try {
        await conn.db.selectFrom('users').select('id').limit(1).execute();
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await notifier.close();
      await conn.close();
    },
  };
}
