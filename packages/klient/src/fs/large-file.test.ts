/**
 * A 256 MiB file goes up in chunks, comes back as a stream, and goes up again as a binary stream
 * (fs.writeStream) through a Klient whose V8 heap is capped far below the file's size: no direction
 * ever holds the file whole. The peak resident memory of the Klient process (VmHWM) stays below
 * the file size too, so the stream's backpressure reaches the sender.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SpawnedKlient, spawnKlient } from '../testing/harness.js';

const MiB = 1024 * 1024;
const SIZE = 256 * MiB;
const CHUNK = 4 * MiB;
let dir: string;
let klient: SpawnedKlient;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'klient-large-'));
  await chmod(dir, 0o755);
  const home = join(dir, 'home');
  await mkdir(home);
  klient = await spawnKlient({ dir, home, nodeArgs: ['--max-old-space-size=96'] });
}, 60_000);
afterAll(async () => {
  await klient?.close();
  await rm(dir, { recursive: true, force: true });
});

async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)![1]) * 1024;
}

describe('a 256 MiB file', () => {
  it('uploads in chunks and streams back without the file ever sitting in memory', async () => {
    const client = await klient.connect('owner');
    const chunk = Buffer.alloc(CHUNK);
    const sent = createHash('sha256');
    const { uploadId } = await client.call('fs.openWrite', { path: 'big.bin' });
    for (let at = 0; at < SIZE; at += CHUNK) {
      chunk.fill(at / CHUNK);
      sent.update(chunk);
      await client.call(
        'fs.writeChunk',
        { uploadId, data: chunk.toString('base64'), at },
        { timeoutMs: 60_000 },
      );
    }
    const written = await client.call('fs.commitWrite', { uploadId }, { timeoutMs: 120_000 });
    const hash = sent.digest('hex');
    expect(written).toMatchObject({ size: SIZE, hash });
    expect((await stat(join(klient.home, 'big.bin'))).size).toBe(SIZE);

    const read = await client.call('fs.readFile', { path: 'big.bin', stream: true });
    const reader = client.openReader(read.streamId!);
    const received = createHash('sha256');
    let bytes = 0;
    for await (const part of reader) {
      received.update(part as Uint8Array);
      bytes += (part as Uint8Array).byteLength;
    }
    expect(bytes).toBe(SIZE);
    expect(received.digest('hex')).toBe(hash);
    expect(await reader.done).toEqual({ bytes: SIZE, hash });
    expect(await peakRss(klient.child.pid!)).toBeLessThan(SIZE);
  }, 180_000);

  it('uploads as one binary stream without the file ever sitting in memory', async () => {
    await rm(join(klient.home, 'big.bin'));
    const client = await klient.connect('owner');
    const peer = await client.waitOpen();
    const chunk = Buffer.alloc(CHUNK);
    const sent = createHash('sha256');
    const { uploadId } = await client.call('fs.openWrite', { path: 'streamed.bin' });
    const stream = peer.openStream();
    stream.uncork();
    const answer = peer.call('fs.writeStream', { uploadId, streamId: stream.id }, { timeoutMs: 170_000 });
    for (let at = 0; at < SIZE; at += CHUNK) {
      // A fresh buffer per write: the frame may still be queued in the socket when the next is filled.
      const part = Buffer.from(chunk.fill(255 - at / CHUNK));
      sent.update(part);
      await stream.ready();
      stream.write(part);
    }
    stream.end();
    expect(await answer).toEqual({ written: SIZE, received: SIZE });
    const written = await client.call('fs.commitWrite', { uploadId }, { timeoutMs: 120_000 });
    expect(written).toMatchObject({ size: SIZE, hash: sent.digest('hex') });
    expect((await readdir(klient.home)).filter((n) => n.includes('.klient-'))).toEqual([]);
    expect(await peakRss(klient.child.pid!)).toBeLessThan(SIZE);
  }, 180_000);
});
