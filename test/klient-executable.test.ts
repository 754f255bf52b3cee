/**
 * The klient single executable runs on a machine with no Node: copied alone into an empty
 * directory and started with an environment whose PATH finds nothing, it reports its version,
 * serves over a real WebSocket, and runs a terminal session through the node-pty it carries.
 */

import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RpcClient } from '@kk/protocol/node.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildKlient, isKlientBuildFresh, klientOutputs } from '../scripts/build-klient.js';
import { sha256File } from '../scripts/klient-executable/freshness.js';
import { type KlientProcess, startKlientProcess } from './support/klient-process.js';

const run = promisify(execFile);

describe('klient single executable', () => {
  const outputs = klientOutputs();
  let dir: string;
  let cache: string;
  let exe: string;
  /** No Node anywhere on PATH, no HOME, nothing inherited from the test runner. */
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    if (!(await isKlientBuildFresh())) await buildKlient();
    dir = await mkdtemp(join(tmpdir(), 'kk-klient-exe-'));
    cache = await mkdtemp(join(tmpdir(), 'kk-klient-cache-'));
    exe = join(dir, 'klient');
    await copyFile(outputs.executable, exe);
    await run('chmod', ['755', exe]);
    env = { PATH: '/nonexistent', XDG_CACHE_HOME: cache };
  }, 180_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await rm(cache, { recursive: true, force: true });
  });

  it('is the file its .sha256 and manifest describe', async () => {
    const sha = await sha256File(outputs.executable);
    expect(await readFile(outputs.sha256File, 'utf8')).toBe(
      `${sha}  klient-${process.platform}-${process.arch}\n`,
    );
    const manifest = JSON.parse(await readFile(outputs.manifest, 'utf8'));
    expect(manifest).toMatchObject({
      name: 'klient',
      platform: process.platform,
      arch: process.arch,
      sha256: sha,
    });
    expect(manifest.size).toBe((await stat(outputs.executable)).size);
    expect(await sha256File(exe)).toBe(sha);
  });

  it('prints its version with no Node on PATH, alone in an empty directory', async () => {
    await expect(run('node', ['--version'], { env })).rejects.toMatchObject({ code: 'ENOENT' });
    const { stdout, stderr } = await run(exe, ['version'], { cwd: dir, env });
    const manifest = JSON.parse(await readFile(outputs.manifest, 'utf8'));
    expect(stdout).toBe(`klient ${manifest.version}\n`);
    expect(stderr).toBe('');
    expect(await readdir(dir)).toEqual(['klient']);
  });

  it('refuses bad usage with exit code 2 and says why', async () => {
    const failure = await run(exe, ['serve', '--listen', 'nowhere'], { cwd: dir, env }).catch((e) => e);
    expect(failure.code).toBe(2);
    expect(failure.stderr).toMatch(/--listen/);
  });

  describe('serving', () => {
    let klient: KlientProcess;
    let client: RpcClient;

    beforeAll(async () => {
      klient = await startKlientProcess({ command: [exe], cwd: dir, env });
      client = klient.connect();
    }, 60_000);

    afterAll(async () => {
      expect(await klient.stop()).toBe(0);
    });

    it('answers klient.ping over a real WebSocket', async () => {
      const pong = await client.call('klient.ping', {});
      expect(pong.pong).toBe(true);
    });

    it('finds and watches files with the bundled tinyglobby and chokidar', async () => {
      const files = await mkdtemp(join(tmpdir(), 'kk-klient-exe-files-'));
      try {
        await writeFile(join(files, 'a.txt'), 'a');
        await writeFile(join(files, 'b.md'), 'b');
        const found = await client.call('fs.glob', { patterns: '**/*.txt', cwd: files });
        expect(found.matches).toEqual(['a.txt']);
        const listing = await client.call('fs.readDirectory', { path: files, watch: true });
        const watch = client.openReader(listing.watchId!);
        const added = new Promise((resolve) => watch.onData(resolve));
        await writeFile(join(files, 'c.txt'), 'c');
        expect(await added).toMatchObject({ type: 'added', name: 'c.txt' });
        await client.call('fs.unwatch', { watchId: listing.watchId! });
      } finally {
        await rm(files, { recursive: true, force: true });
      }
    });

    it('runs a terminal session through the node-pty it carries', async () => {
      const session = await client.call('terminal.create', {
        shell: '/bin/sh',
        args: ['-c', 'printf "ready\\n"; read line; printf "got <%s>\\n" "$line"'],
      });
      const { streamId } = await client.call('terminal.attach', { sessionId: session.id });
      const reader = client.openReader(streamId);
      let seen = '';
      let onSeen: (() => void) | undefined;
      reader.onData((event) => {
        const e = event as { type: string; data?: string; screen?: string };
        seen += e.type === 'output' ? e.data : e.type === 'screen' ? e.screen : '';
        onSeen?.();
      });
      const waitFor = (text: string) =>
        new Promise<void>((resolve) => {
          onSeen = () => seen.includes(text) && resolve();
          onSeen();
        });
      await waitFor('ready');
      await client.call('terminal.input', { sessionId: session.id, data: 'pty-42\r' });
      await waitFor('got <pty-42>');
      expect(await reader.done).toEqual({ reason: 'exit', exitCode: 0, signal: null });
    });

    it('put its addons (pty.node, allocator.node) in a private content-addressed cache, not beside itself', async () => {
      const hashes = await readdir(join(cache, 'klient'));
      const names: string[] = [];
      for (const hash of hashes) {
        const [name, ...others] = await readdir(join(cache, 'klient', hash));
        expect(others).toEqual([]);
        expect(await sha256File(join(cache, 'klient', hash, name!))).toBe(hash);
        expect((await stat(join(cache, 'klient', hash))).mode & 0o777).toBe(0o700);
        names.push(name!);
      }
      expect(names.sort()).toEqual(['allocator.node', 'pty.node']);
      expect((await stat(join(cache, 'klient'))).mode & 0o777).toBe(0o700);
      expect(await readdir(dir)).toEqual(['klient']);
    });

    it('keeps freed memory for reuse through the allocator addon it carries, and marks its heap atomically', () => {
      const listening = klient
        .log()
        .split('\n')
        .map(
          (line) =>
            JSON.parse(line) as {
              msg?: string;
              retainFreedMemory?: unknown;
              atomicGarbageCollection?: unknown;
            },
        )
        .find((entry) => entry.msg === 'klient listening');
      expect(listening?.retainFreedMemory).toBe(true);
      expect(listening?.atomicGarbageCollection).toBe(true);
    });
  });
});
