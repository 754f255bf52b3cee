/** The `klient` command as an operator runs it: a real process, its output and exit code. */
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnKlient } from './testing/harness.js';
import { VERSION } from './version.js';

const here = dirname(fileURLToPath(import.meta.url));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'klient-main-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function klient(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  as: { uid?: number; gid?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'main.ts'), ...args], {
      cwd: join(here, '..'),
      env: { PATH: process.env.PATH, ...env },
      ...as,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('klient command', () => {
  it('prints its version', async () => {
    expect(await klient(['version'])).toMatchObject({ code: 0, stdout: `klient ${VERSION}\n` });
  });

  it('exits 2 naming the bad setting', async () => {
    const bad = await klient([
      'serve',
      '--listen',
      'nowhere',
      '--public-key',
      '/x',
      '--kite-id',
      'k',
      '--issuer',
      'i',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('invalid setting --listen (KLIENT_LISTEN)');
    const fromEnv = await klient(['serve'], { KLIENT_PUBLIC_KEY: '/x', KLIENT_ISSUER: 'i' });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toContain('--kite-id (KLIENT_KITE_ID)');
  });

  it.skipIf(process.getuid?.() !== 0)(
    'exits 2 naming --home when the account has no home to serve (no HOME, no passwd entry)',
    async () => {
      // A uid with no passwd entry, as in a container started with --user 54321.
      const flags = ['serve', '--public-key', '/x', '--kite-id', 'k', '--issuer', 'i'];
      const result = await klient(flags, {}, { uid: 54321, gid: 54321 });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('invalid setting --home (KLIENT_HOME)');
      expect(result.stderr).toContain('no home directory');
    },
  );

  it('refuses a key file that is not an Ed25519 public key, naming it', async () => {
    const keyFile = join(dir, 'private.json');
    await writeFile(keyFile, JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: 'abc', d: 'secret' }));
    const result = await klient([
      'serve',
      '--public-key',
      keyFile,
      '--kite-id',
      'k',
      '--issuer',
      'i',
      '--listen',
      '127.0.0.1:0',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--public-key (KLIENT_PUBLIC_KEY)');
    expect(result.stderr).toContain('private key');
    expect(result.stderr).not.toContain('secret');
  });

  it('refuses unknown flags and commands with usage', async () => {
    const flag = await klient(['serve', '--bogus', 'x']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('usage: klient serve');
    expect((await klient(['frobnicate'])).code).toBe(2);
  });

  it('on SIGTERM closes and kills the processes it started, whole groups', async () => {
    await chmod(dir, 0o755);
    const home = join(dir, 'home');
    await mkdir(home, { recursive: true });
    const running = await spawnKlient({ dir, home });
    const client = await running.connect('owner');
    const started = await client.call('exec.start', { command: 'sleep 300 & sleep 300' });
    const group = started.pid;
    const groupAlive = () => {
      try {
        process.kill(-group, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(groupAlive()).toBe(true);
    running.child.kill('SIGTERM');
    await running.exited;
    expect(running.child.exitCode).toBe(0);
    await expect.poll(groupAlive, { timeout: 20_000 }).toBe(false);
  });
});
