/**
 * Faults at a real Klient: the disk filling up in the middle of a write, and the Klient process
 * killed (-9) under a caller in the middle of exec and terminal use.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnKlient, startTestKlient } from '@kk/klient/testing/harness.js';
import { RpcError } from '@kk/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

async function rejection(promise: Promise<unknown>): Promise<RpcError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RpcError);
  return error as RpcError;
}

describe('a disk that fills up during fs.writeFile', () => {
  let dir: string;
  let mounted = false;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'klient-full-'));
    await mkdir(join(dir, 'small'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', join(dir, 'small')]);
    mounted = true;
  });
  afterAll(async () => {
    if (mounted) execFileSync('umount', [join(dir, 'small')]);
    await rm(dir, { recursive: true, force: true });
  });

  it('answers a clear error and leaves the old file whole, with no temp file behind', async () => {
    const klient = await startTestKlient({ home: join(dir, 'small') });
    try {
      const target = join(dir, 'small', 'notes.txt');
      await writeFile(target, 'the old content');
      const client = await klient.connect('owner');
      const error = await rejection(
        client.call('fs.writeFile', { path: 'notes.txt', content: 'x'.repeat(1024 * 1024) }),
      );
      expect(error.code).toBe(4503);
      expect(error.message).toContain('no space left');
      expect(await readFile(target, 'utf8')).toBe('the old content');
      expect(await readdir(join(dir, 'small'))).toEqual(['notes.txt']);
      // The machine is still usable once space is freed.
      await client.call('fs.writeFile', { path: 'notes.txt', content: 'the new content' });
      expect(await readFile(target, 'utf8')).toBe('the new content');
    } finally {
      await klient.close();
    }
  });
});

describe('Klient killed under its callers', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'klient-kill-'));
    await mkdir(join(dir, 'home'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('fails a running exec stream and later calls with a clear Unavailable error', async () => {
    const klient = await spawnKlient({ home: join(dir, 'home'), dir });
    const client = await klient.connect('owner');
    const started = await client.call('exec.start', { argv: ['sleep', '60'] });
    const stdout = client.openReader(started.stdout);
    try {
      klient.child.kill('SIGKILL');
      const error = await rejection(stdout.done);
      expect(error.code).toBe(4503);
      expect(error.message).toMatch(/connection closed/);
      const later = await rejection(client.call('klient.ping', {}));
      expect(later.code).toBe(4503);
    } finally {
      // The orphaned process group outlives a Klient killed with -9; the test cleans it up.
      try {
        process.kill(-started.pid, 'SIGKILL');
      } catch {}
      await klient.close();
    }
  });

  it('fails an attached terminal stream with a clear error', async () => {
    const klient = await spawnKlient({ home: join(dir, 'home'), dir });
    const client = await klient.connect('owner');
    const session = await client.call('terminal.create', { shell: '/bin/sh', cols: 80, rows: 24 });
    const attached = await client.call('terminal.attach', { sessionId: session.id });
    const screen = client.openReader(attached.streamId);
    try {
      klient.child.kill('SIGKILL');
      const error = await rejection(screen.done);
      expect(error.code).toBe(4503);
    } finally {
      try {
        process.kill(session.pid, 'SIGKILL');
      } catch {}
      await klient.close();
    }
  });
});
