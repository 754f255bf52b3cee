/**
 * A real Klient in its own process (`klient serve` of the single executable, or any command that
 * takes the same flags), trusting a fresh key set, and clients for it holding real access tokens.
 * Used by the executable's test and by bench/klient.bench.ts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect, issueAccessToken, KeySet, type RpcClient, type Scope } from '@kk/protocol/node.js';

export interface KlientProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  /** Everything the process wrote to stderr so far (its pino log). */
  log(): string;
  /** A connected client with a fresh token of `scope` (default owner). */
  connect(scope?: Scope): RpcClient;
  /** A fresh access token of `scope` (default owner), for a client in another process. */
  token(scope?: Scope): Promise<string>;
  /** SIGTERM, then the exit code once it is gone. */
  stop(): Promise<number | null>;
}

export interface KlientProcessOptions {
  /** argv before `serve`: the executable, or e.g. `node --import tsx packages/klient/src/main.ts`. */
  command: string[];
  /** More `serve` flags, e.g. `['--home', dir, '--log-level', 'debug']`. */
  serveArgs?: string[];
  cwd?: string;
  /** The whole environment of the process (nothing is inherited). */
  env: NodeJS.ProcessEnv;
}

const issuer = 'http://kloud.test';
const kiteId = 'kite-under-test';

/** Resolves with the URL from the `klient listening` log line; rejects if the process exits first. */
function waitListening(child: ChildProcess, lines: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null, signal: string | null) =>
      reject(new Error(`klient exited (${code ?? signal}) before listening:\n${lines.join('\n')}`));
    child.once('exit', onExit);
    createInterface({ input: child.stderr! }).on('line', (line) => {
      lines.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'klient listening' && entry.url) {
          child.off('exit', onExit);
          resolve(entry.url);
        }
      } catch {
        // Not a log line (a crash trace); kept in `lines` for the error above.
      }
    });
  });
}

export async function startKlientProcess(options: KlientProcessOptions): Promise<KlientProcess> {
  const keys = await KeySet.generate();
  const dir = await mkdtemp(join(tmpdir(), 'kk-klient-keys-'));
  const jwks = join(dir, 'jwks.json');
  await writeFile(jwks, JSON.stringify(keys.toJWKS()));
  const [file, ...pre] = options.command;
  const args = [
    ...pre,
    'serve',
    '--listen',
    '127.0.0.1:0',
    '--public-key',
    jwks,
    '--kite-id',
    kiteId,
    '--issuer',
    issuer,
    '--state-dir',
    join(dir, 'state'),
    ...(options.serveArgs ?? []),
  ];
  const child = spawn(file!, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // A test or bench that dies must not leave its Klient running.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      process.off('exit', killOnExit);
      resolve(code);
    }),
  );
  const lines: string[] = [];
  let url: string;
  try {
    url = await waitListening(child, lines);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const clients: RpcClient[] = [];
  const token = async (scope: Scope = 'owner') =>
    (await issueAccessToken(keys, { issuer, user: 'tester', kiteId, scope })).token;
  return {
    url,
    pid: child.pid!,
    child,
    log: () => lines.join('\n'),
    token,
    connect(scope: Scope = 'owner') {
      const client = connect(url, () => token(scope), { reconnect: false });
      clients.push(client);
      return client;
    },
    async stop() {
      for (const client of clients) client.close();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const code = await exited;
      await rm(dir, { recursive: true, force: true });
      return code;
    },
  };
}
