/**
 * A TerminalManager served over the real protocol on loopback, with its own key set, for the
 * terminal's WebSocket tests. Run as a script (`node --import tsx test-server.ts`) it serves in
 * its own process and prints one JSON line `{url, tokens}`, so a test can measure that process.
 */
import type { Scope } from '@kk/protocol/catalogue/define.js';
import type { RpcClient } from '@kk/protocol/client/client.js';
import { connect } from '@kk/protocol/node/connect.js';
import { createRpcServer } from '@kk/protocol/node/server.js';
import type { Principal } from '@kk/protocol/principal.js';
import { issueAccessToken, KeySet, keyResolver, verifyAccessToken } from '@kk/protocol/tokens/index.js';
import { terminalHandlers } from './api.js';
import { TerminalManager, type TerminalManagerOptions } from './manager.js';

const ISSUER = 'http://kloud.test';
const KITE = 'kite-terminal-test';

export interface TerminalTestServer {
  url: string;
  manager: TerminalManager;
  token(scope?: Scope, user?: string): Promise<string>;
  /** A connected client; closed by `close()`. */
  connect(scope?: Scope, user?: string): Promise<RpcClient>;
  close(): Promise<void>;
}

export async function startTerminalServer(
  options: Partial<TerminalManagerOptions> = {},
): Promise<TerminalTestServer> {
  const keys = await KeySet.generate();
  const getKey = keyResolver(keys);
  const manager = new TerminalManager({ shell: '/bin/sh', ...options });
  const server = await createRpcServer({
    methods: terminalHandlers(manager),
    authenticate: async (token): Promise<Principal> => {
      const claims = await verifyAccessToken(token, getKey, { issuer: ISSUER, kiteId: KITE });
      return { sub: claims.sub, scope: claims.scope };
    },
  });
  const token = async (scope: Scope = 'owner', user = 'alice') =>
    (await issueAccessToken(keys, { issuer: ISSUER, user, kiteId: KITE, scope, expiresInSeconds: 600 }))
      .token;
  const clients: RpcClient[] = [];
  return {
    url: server.url,
    manager,
    token,
    connect: async (scope, user) => {
      const client = connect(server.url, await token(scope, user), { reconnect: false });
      clients.push(client);
      await client.waitOpen(20_000);
      return client;
    },
    close: async () => {
      for (const client of clients) client.close();
      manager.close();
      await server.close();
    },
  };
}

if (process.argv[1] === import.meta.filename) {
  const served = await startTerminalServer();
  process.stdout.write(
    `${JSON.stringify({ url: served.url, tokens: { owner: await served.token('owner'), readonly: await served.token('readonly') } })}\n`,
  );
  process.on('SIGTERM', () => void served.close().then(() => process.exit(0)));
}
