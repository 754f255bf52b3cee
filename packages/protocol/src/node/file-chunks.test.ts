import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeFrame, FRAME_HEADER_BYTES, frameInPlace } from '../frames.js';
import { readFileChunks } from './file-chunks.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'file-chunks-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(path: string, range: { offset: number; length?: number }, chunk: number) {
  const handle = await open(path, 'r');
  try {
    const parts: Buffer[] = [];
    for await (const { payload, frame } of readFileChunks(handle, range, chunk)) {
      // The frame is the payload with the header's room before it, in the same memory.
      expect(frame.byteLength).toBe(payload.length + FRAME_HEADER_BYTES);
      expect(frame.buffer).toBe(payload.buffer);
      expect(Buffer.from(decodeFrame(frameInPlace(5, parts.length, frame))!.payload).equals(payload)).toBe(
        true,
      );
      parts.push(Buffer.from(payload));
    }
    return Buffer.concat(parts);
  } finally {
    await handle.close();
  }
}

describe('readFileChunks', () => {
  it('reads a whole file, a range, and a range past the end, in chunks framed in place', async () => {
    const content = randomBytes(100_000);
    const path = join(dir, 'f');
    await writeFile(path, content);
    expect(await collect(path, { offset: 0 }, 4096)).toEqual(content);
    expect(await collect(path, { offset: 1000, length: 5000 }, 4096)).toEqual(content.subarray(1000, 6000));
    expect(await collect(path, { offset: 99_000, length: 5000 }, 4096)).toEqual(content.subarray(99_000));
    expect(await collect(path, { offset: 200_000 }, 4096)).toEqual(Buffer.alloc(0));
  });

  it('reads files whose size is reported as 0 to their end', async () => {
    const text = (await collect('/proc/self/status', { offset: 0 }, 64)).toString();
    expect(text).toMatch(/^Name:/);
    expect(text).toMatch(/VmRSS/);
  });

  it('lets a consumer stop early with a read in flight, and the file closes cleanly', async () => {
    const path = join(dir, 'big');
    await writeFile(path, randomBytes(1_000_000));
    const handle = await open(path, 'r');
    for await (const chunk of readFileChunks(handle, { offset: 0 }, 1000)) {
      expect(chunk.payload.length).toBe(1000);
      break;
    }
    await handle.close();
  });
});
