/**
 * Nothing is lost on a crash: a Klient killed with SIGKILL in the middle of a write leaves the
 * target with its old content or its new content, never a mix; and nothing is left behind: the
 * next Klient removes the temp file the write had begun.
 */
import { watch } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type SpawnedKlient, spawnKlient } from '../testing/harness.js';

const OLD = 'A'.repeat(4 * 1024 * 1024);
const NEW = 'B'.repeat(12 * 1024 * 1024);

let dir: string;
let klient: SpawnedKlient | undefined;

afterEach(async () => {
  await klient?.close();
  klient = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function setUp(): Promise<{ home: string; target: string }> {
  dir = await mkdtemp(join(tmpdir(), 'klient-crash-'));
  const home = join(dir, 'home');
  await mkdir(home);
  await chmod(dir, 0o755);
  const target = join(home, 'data.txt');
  await writeFile(target, OLD);
  klient = await spawnKlient({ dir, home });
  return { home, target };
}

/**
 * Resolves at the first sign of the write on disk: any file created or changed in `home`
 * (a temp file, or the target itself if a write went to it in place). Not tied to how
 * Klient writes, so a non-atomic write would be caught half-way.
 */
function writeBegins(home: string): Promise<void> {
  return new Promise((resolve) => {
    const watcher = watch(home, () => {
      watcher.close();
      resolve();
    });
  });
}

const tempFiles = async (home: string) => (await readdir(home)).filter((name) => name.endsWith('.tmp'));

/**
 * After the kill: a write cut short (`interrupted`, the target still old) left its temp file; the
 * next Klient with the same state directory removes it, and the target stays as it was.
 */
async function expectTempFileSweptAtRestart(home: string, target: string, interrupted: boolean) {
  const content = await readFile(target, 'utf8');
  if (interrupted) expect(await tempFiles(home)).toHaveLength(1);
  klient = await spawnKlient({ dir, home });
  expect(await tempFiles(home)).toEqual([]);
  expect(await readFile(target, 'utf8')).toBe(content);
}

describe('kill -9 during a write', () => {
  it('fs.writeFile: the file holds the old or the new content, whole', async () => {
    const { home, target } = await setUp();
    const client = await klient!.connect('owner');
    const begins = writeBegins(home);
    const write = client.call('fs.writeFile', { path: 'data.txt', content: NEW }, { timeoutMs: 60_000 });
    write.catch(() => {});
    await begins;
    klient!.child.kill('SIGKILL');
    await klient!.exited;
    const content = await readFile(target, 'utf8');
    expect(content === OLD || content === NEW).toBe(true);
    await expectTempFileSweptAtRestart(home, target, content === OLD);
  });

  it('fs.writeFile append: the file holds the old content or the old plus the appended, whole', async () => {
    const { home, target } = await setUp();
    const client = await klient!.connect('owner');
    const begins = writeBegins(home);
    const write = client.call(
      'fs.writeFile',
      { path: 'data.txt', content: NEW, append: true },
      { timeoutMs: 60_000 },
    );
    write.catch(() => {});
    await begins;
    klient!.child.kill('SIGKILL');
    await klient!.exited;
    const content = await readFile(target, 'utf8');
    expect(content === OLD || content === OLD + NEW).toBe(true);
    await expectTempFileSweptAtRestart(home, target, content === OLD);
  });

  it('chunked upload: an uncommitted upload never touches the file', async () => {
    const { home, target } = await setUp();
    const client = await klient!.connect('owner');
    const { uploadId } = await client.call('fs.openWrite', { path: 'data.txt' });
    const chunk = Buffer.from('B'.repeat(1024 * 1024)).toString('base64');
    for (let i = 0; i < 3; i++) await client.call('fs.writeChunk', { uploadId, data: chunk });
    klient!.child.kill('SIGKILL');
    await klient!.exited;
    expect(await readFile(target, 'utf8')).toBe(OLD);
    await expectTempFileSweptAtRestart(home, target, true);
  });
});
