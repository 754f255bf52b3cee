/**
 * Real Klients for tests: in-process (`startTestKlient`) or as a child process
 * (`spawnKlient`, for kill -9 and for running as another user), each with its own key set,
 * home directory and tokens. Nothing here is a mock: calls go over a real WebSocket.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Scope } from '@kk/protocol/catalogue/define.js';
import type { RpcClient } from '@kk/protocol/client/client.js';
import { connect } from '@kk/protocol/node/connect.js';
import { issueAccessToken, KeySet } from '@kk/protocol/tokens/index.js';
import { type KlientConfig, loadConfig } from '../config.js';
import { type RunningKlient, startKlient } from '../server.js';

export const ISSUER = 'http://kloud.test';
export const KITE_ID = 'kite-test-1';
const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'main.ts');

export interface Keys {
  keys: KeySet;
  /** A JWKS file of the public keys, as `--public-key` takes it. */
  publicKeyFile: string;
  token(scope: Scope, kiteId?: string): Promise<string>;
}

async function makeKeys(dir: string): Promise<Keys> {
  const keys = await KeySet.generate();
  const publicKeyFile = join(dir, 'jwks.json');
  await writeFile(publicKeyFile, JSON.stringify(keys.toJWKS()));
  return {
    keys,
    publicKeyFile,
    token: async (scope, kiteId = KITE_ID) =>
      (await issueAccessToken(keys, { issuer: ISSUER, user: 'alice', kiteId, scope, expiresInSeconds: 600 }))
        .token,
  };
}

/** Connects clients to `url` with tokens of `keys`; `closeAll` closes every one it made. */
function clientsOf(url: string, keys: Keys) {
  const clients: RpcClient[] = [];
  return {
    connect: async (scope: Scope = 'owner') => {
      const client = connect(url, await keys.token(scope), { reconnect: false });
      clients.push(client);
      await client.waitOpen(20_000);
      return client;
    },
    closeAll: () => {
      for (const client of clients.splice(0)) client.close();
    },
  };
}

export interface TestKlient extends Keys {
  klient: RunningKlient;
  config: KlientConfig;
  /** A scratch directory; `home` is inside it. */
  dir: string;
  home: string;
  connect(scope?: Scope): Promise<RpcClient>;
  close(): Promise<void>;
}

/**
 * A Klient in this process, serving a fresh home directory under a fresh temp dir. `options`
 * go to startKlient (e.g. an older catalogue, to play a Klient from before a change).
 */
export async function startTestKlient(
  overrides: Partial<KlientConfig> = {},
  options: Parameters<typeof startKlient>[1] = {},
): Promise<TestKlient> {
  const dir = await mkdtemp(join(tmpdir(), 'klient-test-'));
  const home = join(dir, 'home');
  await mkdir(home);
  const keys = await makeKeys(dir);
  const config = {
    ...loadConfig(
      {
        listen: '127.0.0.1:0',
        'public-key': keys.publicKeyFile,
        'kite-id': KITE_ID,
        issuer: ISSUER,
        home,
        'state-dir': join(dir, 'state'),
        'log-level': 'silent',
      },
      {},
    ),
    ...overrides,
  };
  const klient = await startKlient(config, options);
  const clients = clientsOf(klient.url, keys);
  return {
    ...keys,
    klient,
    config,
    dir,
    home,
    connect: clients.connect,
    close: async () => {
      clients.closeAll();
      await klient.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface SpawnedKlient extends Keys {
  child: ChildProcess;
  url: string;
  home: string;
  connect(scope?: Scope): Promise<RpcClient>;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  /** What it has logged so far (stderr), for a failing test to show. */
  log(): string;
  close(): Promise<void>;
}

/**
 * `klient serve` as a child process (optionally as another user via runuser), listening on a
 * free port it reports in its "klient listening" log line.
 */
export async function spawnKlient(options: {
  home: string;
  dir: string;
  user?: string;
  /** Extra node options, e.g. a heap cap. */
  nodeArgs?: string[];
}): Promise<SpawnedKlient> {
  const keys = await makeKeys(options.dir);
  const args = [
    ...(options.nodeArgs ?? []),
    '--import',
    'tsx',
    MAIN,
    'serve',
    '--listen',
    '127.0.0.1:0',
    '--public-key',
    keys.publicKeyFile,
  ];
  // Klient's state beside the home, not the account's: a restart in the same `dir` finds it.
  args.push('--kite-id', KITE_ID, '--issuer', ISSUER, '--home', options.home);
  args.push('--state-dir', join(options.dir, 'state'));
  const child = options.user
    ? spawn('runuser', ['-u', options.user, '--', process.execPath, ...args], {
        stdio: ['ignore', 'ignore', 'pipe'],
      })
    : spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      log += text;
      const match = /"url":"(ws:[^"]+)"/.exec(log);
      if (match) resolve(match[1]!);
    });
    void exited.then(() => reject(new Error(`klient exited before listening:\n${log}`)));
  });
  const clients = clientsOf(url, keys);
  return {
    ...keys,
    child,
    url,
    home: options.home,
    exited,
    log: () => log,
    connect: clients.connect,
    close: async () => {
      clients.closeAll();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** No `.klient-…tmp` file is left beside a target after a write finished or failed. */
export async function noTempFiles(dir: string): Promise<void> {
  const left = (await readdir(dir)).filter((name) => name.includes('.klient-'));
  if (left.length) throw new Error(`temp files left in ${dir}: ${left.join(', ')}`);
}
