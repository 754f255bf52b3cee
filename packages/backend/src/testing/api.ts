/**
 * The API over a real store for tests: fastify's `inject` (no socket needed), a pino logger whose
 * every line is kept so tests can search the logs, an admin from the bootstrap, and helpers to
 * make users with tokens.
 */
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import type { RouteRegistry } from '../api/define.js';
import { buildApi } from '../api/server.js';
import { bootstrapAdmin } from '../bootstrap.js';
import type { User } from '../repos/users.js';
import type { Store } from '../store/store.js';
import { type StoreHarness, type StoreKind, storeHarness } from './stores.js';

export interface Caller {
  user: User;
  token: string;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read answers of every shape
  body: any;
  text: string;
}

export interface ApiWorld {
  app: FastifyInstance;
  registry: RouteRegistry;
  store: Store;
  dataDir: string;
  admin: Caller;
  /** Every log line the API wrote. */
  logs: string[];
  call(
    caller: Caller | undefined,
    method: string,
    url: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Answer>;
  newUser(username: string): Promise<Caller>;
}

export function apiHarness(kind: StoreKind = 'sqlite'): {
  harness: StoreHarness;
  world(): Promise<ApiWorld>;
} {
  const harness = storeHarness(kind);
  const apps: FastifyInstance[] = [];
  const teardown = harness.teardown;
  harness.teardown = async () => {
    await Promise.all(apps.map((a) => a.close()));
    await teardown();
  };
  return {
    harness,
    async world() {
      const { store, dataDir } = await harness.open();
      const logs: string[] = [];
      const sink = new Writable({
        write(chunk, _enc, done) {
          logs.push(chunk.toString());
          done();
        },
      });
      const logger = pino({ level: 'debug' }, sink);
      const { app, registry } = buildApi({ store, logger, checkResponses: true });
      apps.push(app);
      await app.ready();
      const boot = (await bootstrapAdmin(store))!;
      const call: ApiWorld['call'] = async (caller, method, url, body, headers = {}) => {
        const res = await app.inject({
          method: method as 'GET',
          url,
          headers: { ...(caller ? { authorization: `Bearer ${caller.token}` } : {}), ...headers },
          ...(body === undefined ? {} : { payload: body as object }),
        });
        let parsed: unknown;
        try {
          parsed = res.body ? JSON.parse(res.body) : undefined;
        } catch {
          parsed = undefined;
        }
        return { status: res.statusCode, headers: res.headers, body: parsed, text: res.body };
      };
      const admin = { user: boot.user, token: boot.token };
      return {
        app,
        registry,
        store,
        dataDir,
        admin,
        logs,
        call,
        async newUser(username) {
          const created = await call(admin, 'POST', '/api/v1/users', { username });
          if (created.status !== 201) throw new Error(`making ${username}: ${created.text}`);
          const token = await call(admin, 'POST', '/api/v1/tokens', {
            name: 'test',
            userId: created.body.id,
          });
          return { user: created.body, token: token.body.token };
        },
      };
    },
  };
}
