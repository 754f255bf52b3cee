/**
 * One Kloud process: the store, the signing keys, the providers, the lifecycle, the registry
 * and tunnel, the background jobs, and one HTTP server carrying the REST API, Kloud's RPC
 * endpoint, the Klient registry and the tunnel (DESIGN §5). `startKloud` is what `kloud serve`
 * and the tests run.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { resolveBearer } from '@kk/backend/api/auth.js';
import { buildApi } from '@kk/backend/api/server.js';
import { BackendError } from '@kk/backend/errors.js';
import { openStore, type Store } from '@kk/backend/store/store.js';
import { errors } from '@kk/protocol/errors.js';
import { keyResolver, RpcEndpoint } from '@kk/protocol/node.js';
import type { KeySet } from '@kk/protocol/tokens/index.js';
import { relayAvailability } from '@kk/relay';
import { registerWeb } from '@kk/web/server/register.js';
import type { FastifyInstance } from 'fastify';
import { type Logger, pino } from 'pino';
import { asRpcError, isStoreUnavailable } from './api/backend-error.js';
import { keyRoutes } from './api/key-routes.js';
import { kloudRoutes, type RouteDeps } from './api/routes.js';
import { closeConnectionsOnUnshare } from './api/share-hooks.js';
import type { KloudConfig } from './config.js';
import { type KlientArtifact, resolveKlientArtifact } from './download/klient-artifact.js';
import { kloudErrors } from './errors.js';
import { BackgroundJobs } from './jobs/background.js';
import { stopIdleMachines } from './jobs/idle.js';
import { reconcile } from './jobs/reconcile.js';
import { failStuckBuilds, unstickMachines } from './jobs/stuck.js';
import { WarmPool } from './jobs/warm-pool.js';
import { loadOrCreateKeySet } from './keys/keystore.js';
import { EventBus } from './lifecycle/events.js';
import { Lifecycle } from './lifecycle/lifecycle.js';
import { getMachine } from './machines/machine.js';
import { MachineService } from './machines/service.js';
import { machineWorld } from './machines/world.js';
import { AwsProvider } from './providers/aws/provider.js';
import { DigitalOceanProvider } from './providers/digitalocean/provider.js';
import { LocalProvider } from './providers/local/local-provider.js';
import type { Provider } from './providers/provider.js';
import { Agents } from './registry/agents.js';
import { Registry } from './registry/registry.js';
import { kloudRpcMethods } from './rpc/methods.js';
import { lockDataDir } from './server/data-dir-lock.js';
import { routeUpgrades } from './server/upgrades.js';
import { StackService } from './stacks/service.js';
import { obeyCloseOrders } from './tunnel/close-everywhere.js';
import { Tunnel } from './tunnel/tunnel.js';

export interface Kloud {
  url: string;
  config: KloudConfig;
  store: Store;
  keys: KeySet;
  app: FastifyInstance;
  lifecycle: Lifecycle;
  registry: Registry;
  tunnel: Tunnel;
  machines: MachineService;
  stacks: StackService;
  jobs: BackgroundJobs;
  pool: WarmPool;
  providers: Map<string, Provider>;
  log: Logger;
  close(): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  /** Providers replacing the built-in ones by name (tests point aws/digitalocean at fakes). */
  providers?: Provider[];
}

export async function startKloud(config: KloudConfig, options: StartOptions = {}): Promise<Kloud> {
  const log =
    options.log ?? pino({ level: config.logLevel, base: { service: 'kloud' } }, pino.destination(2));
  const holder = `kloud-${randomUUID()}`;
  const unlock = config.databaseUrl ? async () => {} : await lockDataDir(config.dataDir);
  const store = await openStore({ ...config.backend, logger: log.child({ component: 'store' }) });
  const { keys } = await loadOrCreateKeySet(config.dataDir);
  const artifactNow: KlientArtifact = await resolveKlientArtifact(config.klientArtifact);
  log.info({ kind: artifactNow.kind, sha256: artifactNow.sha256 }, 'klient download ready');
  const artifact = () => artifactNow;

  const { app, registry: api } = buildApi({ store, logger: log.child({ component: 'api' }) });
  // Routes are registered before listening (fastify's rule) but the services need the URL,
  // known only once the port is bound: the routes read their dependencies at request time.
  const routeDeps = {} as RouteDeps;
  kloudRoutes(app, api, routeDeps);
  keyRoutes(app, api, {
    keys: () => routeDeps.keys,
    dataDir: config.dataDir,
    rekey: () => routeDeps.rekey(),
  });
  closeConnectionsOnUnshare(app, store, () => routeDeps.tunnel);
  await app.register(registerWeb);
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address() as import('node:net').AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  // This process's own address (link holder, relays between processes) and the public URL
  // machines and callers use (the tokens' issuer); the same unless --public-url says otherwise.
  const self = `http://${host === '0.0.0.0' ? '127.0.0.1' : host === '[::]' ? '[::1]' : host}:${address.port}`;
  const url = config.publicUrl ?? self;

  // Cloud providers cost nothing until a machine uses them with a stored credential.
  const providers = new Map<string, Provider>([
    ['local', new LocalProvider({ root: join(config.dataDir, 'machines') })],
    ['aws', new AwsProvider({ logger: log.child({ provider: 'aws' }) })],
    ['digitalocean', new DigitalOceanProvider({ logger: log.child({ provider: 'digitalocean' }) })],
  ]);
  for (const p of options.providers ?? []) providers.set(p.name, p);
  const provider = (name: string): Provider => {
    const p = providers.get(name);
    if (!p)
      throw kloudErrors.invalid(
        `provider ${name} is not enabled on this Kloud (have: ${[...providers.keys()].join(', ')})`,
      );
    return p;
  };

  const events = new EventBus();
  const verifyKeys = keyResolver(keys);
  const world = machineWorld({ store, providers, keys, issuer: url, artifact });
  const registry = new Registry({
    store,
    keys: verifyKeys,
    issuer: url,
    holder: self,
    heartbeatMs: config.heartbeatMs,
    log,
    signingKid: () => keys.active().at(-1)!.kid,
    issueKiteKey: async (machineId, kiteId) => world.issueKiteKey(await getMachine(store, machineId), kiteId),
  });
  const agents = new Agents({
    store,
    registry,
    keys,
    issuer: url,
    self,
    heartbeatMs: config.heartbeatMs,
    log,
  });
  await agents.start();
  const tunnel = new Tunnel({ store, registry, keys: verifyKeys, issuer: url, log, self });
  const stopObeying = await obeyCloseOrders(store, tunnel, log);
  const lifecycle = new Lifecycle({
    store,
    holder,
    providers: provider,
    credential: world.credential,
    issueKiteKey: world.issueKiteKey,
    userData: world.userData,
    stackEnv: world.stackEnv,
    agents,
    events,
    log,
    settings: {
      leaseMs: config.leaseMs,
      registerTimeoutMs: config.registerTimeoutMs,
      provisionTimeoutMs: config.provisionTimeoutMs,
      maxAttempts: 3,
    },
  });
  const machines = new MachineService({ store, lifecycle, agents, events, keys, issuer: url });
  const pool = new WarmPool({ store, lifecycle, log });
  const stacks = new StackService({
    store,
    lifecycle,
    events,
    log,
    agents,
    provisionTimeoutMs: config.provisionTimeoutMs,
    holder,
    leaseMs: config.leaseMs,
    maxAttempts: 3,
    pool,
  });
  const rpc = new RpcEndpoint({
    authenticate: async (token) => {
      try {
        const { user } = await resolveBearer(store, token ? `Bearer ${token}` : undefined);
        return { sub: user.id, scope: 'owner' };
      } catch (err) {
        // A bad token is a failed login; a database away is "retry", and not counted as one.
        if (err instanceof BackendError && !isStoreUnavailable(err))
          throw errors.unauthenticated(err.message);
        throw asRpcError(err);
      }
    },
    methods: kloudRpcMethods({ store, machines, stacks }),
    onInternalError: (method, err) => log.error({ err, method }, 'kloud rpc method failed'),
  });

  Object.assign(routeDeps, {
    machines,
    stacks,
    keys,
    artifact,
    tunnel,
    rekey: () => registry.rekeyAll(),
  } satisfies RouteDeps);
  routeUpgrades(app.server, { registry, tunnel, rpc, log });

  const jobs = new BackgroundJobs({
    store,
    lifecycle,
    registry,
    providers,
    credential: world.credential,
    events,
    log,
    config,
  });
  jobs.add('stack jobs', async () => void (await stacks.recover(false)));
  jobs.add('stuck builds', failStuckBuilds);
  jobs.add('stuck machines', unstickMachines);
  jobs.add('idle machines', stopIdleMachines);
  jobs.add('reconcile', reconcile);
  jobs.add('warm pools', () => pool.fill());
  // One SQLite file belongs to one Kloud: every job still marked running was this data
  // directory's previous process, dead now. PostgreSQL waits for leases to lapse.
  await lifecycle.recover(store.kind === 'sqlite');
  await stacks.recover(store.kind === 'sqlite');
  jobs.start();

  const relay = relayAvailability();
  if (!relay.available && !relay.reason.startsWith('turned off'))
    log.warn(
      { reason: relay.reason },
      "tunnel connections are joined on Node's event loop, not the relay thread",
    );
  log.info(
    {
      url,
      dataDir: config.dataDir,
      database: store.location,
      tunnelRelay: relay.available ? { thread: true, spinMicros: relay.spinMicros } : relay.reason,
    },
    'kloud listening',
  );
  return {
    url,
    config,
    store,
    keys,
    app,
    lifecycle,
    registry,
    tunnel,
    machines,
    stacks,
    jobs,
    pool,
    providers,
    log,
    close: async () => {
      jobs.stop();
      await stacks.close();
      await lifecycle.close();
      stopObeying();
      tunnel.close();
      agents.close();
      await registry.close();
      rpc.close();
      app.server.closeAllConnections();
      await app.close();
      await store.close();
      await unlock();
    },
  };
}
