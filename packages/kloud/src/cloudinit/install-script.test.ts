import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { access, chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installScript } from './install-script.js';

/** A stand-in Klient: `klient run` writes the settings it was started with, then waits to be killed. */
const fakeKlient = `#!/bin/sh
[ "$1" = run ] || exit 64
printf '%s\\n%s\\n' "$KLIENT_KLOUD_URL" "$KLIENT_KITE_KEY" > "$(dirname "$KLIENT_KITE_KEY")/started"
exec sleep 600
`;
const sha256 = createHash('sha256').update(fakeKlient).digest('hex');
const kiteKey = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ0ZXN0In0.c2ln';

let server: Server;
let base: string;
let dir: string;
let downloads = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kloud-install-'));
  server = createServer((req, res) => {
    downloads++;
    if (req.url === '/download/klient') res.end(fakeKlient);
    else res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.close();
  await rm(dir, { recursive: true, force: true });
});

async function runScript(name: string, sum: string, service: string, extraEnv: NodeJS.ProcessEnv = {}) {
  const root = join(dir, name);
  const script = join(dir, `${name}.sh`);
  await writeFile(
    script,
    installScript({
      kloudUrl: 'https://kloud.test',
      klientUrl: `${base}/download/klient`,
      klientSha256: sum,
      kiteKey,
    }),
  );
  const env = {
    ...process.env,
    KLIENT_PREFIX: root,
    KLIENT_CONFIG_DIR: join(root, 'etc'),
    KLIENT_SERVICE: service,
    KLIENT_USER: userInfo().username,
    ...extraEnv,
  };
  const result = await promisify(execFile)('sh', [script], { env }).then(
    (r) => ({ code: 0, stderr: r.stderr }),
    (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
  );
  return { ...result, root };
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

describe('install script', () => {
  it('refuses a checksum mismatch: exit 3, a clear message, nothing installed', async () => {
    const before = downloads;
    const { code, stderr, root } = await runScript('mismatch', 'f'.repeat(64), 'none');
    expect(downloads).toBe(before + 1);
    expect(code).toBe(3);
    expect(stderr).toContain(
      `checksum mismatch for ${base}/download/klient: expected ${'f'.repeat(64)}, got ${sha256}`,
    );
    expect(await exists(join(root, 'bin', 'klient'))).toBe(false);
    expect(await exists(join(root, 'etc', 'kite.key'))).toBe(false);
  });

  it('installs on a match: executable binary, private kite.key and settings', async () => {
    const { code, stderr, root } = await runScript('match', sha256, 'none');
    expect(stderr).toContain('not started (KLIENT_SERVICE=none)');
    expect(code).toBe(0);
    const bin = join(root, 'bin', 'klient');
    expect(await readFile(bin, 'utf8')).toBe(fakeKlient);
    expect((await stat(bin)).mode & 0o777).toBe(0o755);
    const key = join(root, 'etc', 'kite.key');
    expect(await readFile(key, 'utf8')).toBe(`${kiteKey}\n`);
    expect((await stat(key)).mode & 0o777).toBe(0o600);
    expect(await readFile(join(root, 'etc', 'klient.env'), 'utf8')).toBe(
      `KLIENT_KLOUD_URL=https://kloud.test\nKLIENT_KITE_KEY=${key}\n`,
    );
  });

  it('starts Klient directly, with its settings, where there is no systemd', async () => {
    const { code, root } = await runScript('direct', sha256, 'direct');
    expect(code).toBe(0);
    const pid = Number(await readFile(join(root, 'etc', 'klient.pid'), 'utf8'));
    try {
      const started = join(root, 'etc', 'started');
      // The background Klient writes this file once it runs; wait for it.
      const watcher = spawn('sh', ['-c', `while [ ! -s '${started}' ]; do sleep 0.05; done`]);
      await once(watcher, 'exit');
      expect(await readFile(started, 'utf8')).toBe(`https://kloud.test\n${join(root, 'etc', 'kite.key')}\n`);
    } finally {
      process.kill(pid, 'SIGTERM');
    }
  });

  it('installs a systemd unit that restarts Klient always, and enables and starts it', async () => {
    // A stand-in systemctl records what it is asked; the unit goes to a temp directory.
    const fakeBin = join(dir, 'fake-bin');
    await mkdir(fakeBin, { recursive: true });
    const calls = join(dir, 'systemctl.calls');
    await writeFile(join(fakeBin, 'systemctl'), `#!/bin/sh\necho "$*" >> '${calls}'\n`);
    await chmod(join(fakeBin, 'systemctl'), 0o755);
    const units = join(dir, 'units');
    const { code, root } = await runScript('systemd', sha256, 'systemd', {
      KLIENT_SYSTEMD_DIR: units,
      PATH: `${fakeBin}:${process.env.PATH}`,
    });
    expect(code).toBe(0);
    expect((await readFile(calls, 'utf8')).trim().split('\n')).toEqual([
      'daemon-reload',
      'enable klient.service',
      'restart klient.service',
    ]);
    const unit = await readFile(join(units, 'klient.service'), 'utf8');
    expect(unit).toContain(`User=${userInfo().username}\n`);
    expect(unit).toContain(`EnvironmentFile=${join(root, 'etc', 'klient.env')}\n`);
    expect(unit).toContain(`ExecStart=${join(root, 'bin', 'klient')} run\n`);
    expect(unit).toContain('Restart=always\n');
    if (existsSync('/usr/bin/systemd-analyze')) {
      const verdict = await promisify(execFile)('systemd-analyze', ['verify', join(units, 'klient.service')]);
      expect(verdict.stderr).toBe('');
    }
  });

  it('refuses a bad setting from the environment before downloading', async () => {
    const before = downloads;
    const { code, stderr } = await runScript('badservice', sha256, 'launchd');
    expect(code).toBe(2);
    expect(stderr).toContain('KLIENT_SERVICE must be');
    expect(downloads).toBe(before);
  });
});
