/**
 * fs.writeStream: an upload fed by a binary stream the client opened, instead of base64 chunks.
 * Same session, temp file and atomic commit as fs.writeChunk; a broken stream drops the upload.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RpcClient } from '@kk/protocol/client/client.js';
import { ErrorCode } from '@kk/protocol/errors.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noTempFiles, startTestKlient, type TestKlient } from '../testing/harness.js';
import { hashBytes } from './hash.js';

let t: TestKlient;
let client: RpcClient;
const at = (...parts: string[]) => join(t.home, ...parts);

beforeAll(async () => {
  t = await startTestKlient();
  client = await t.connect('user');
});
afterAll(() => t.close());

/**
 * Opens a stream on `client`'s connection, announces it with fs.writeStream and sends `parts`
 * (each after the socket has room); `end` decides how the stream finishes.
 */
async function sendStream(
  rpc: RpcClient,
  uploadId: string,
  parts: Array<Uint8Array | string>,
  end: (stream: ReturnType<NonNullable<RpcClient['connection']>['openStream']>) => void = (s) => s.end(),
  extra: { at?: number } = {},
) {
  const peer = await rpc.waitOpen();
  const stream = peer.openStream();
  stream.uncork();
  const answer = peer.call(
    'fs.writeStream',
    { uploadId, streamId: stream.id, ...extra },
    { timeoutMs: 60_000 },
  );
  answer.catch(() => {});
  for (const part of parts) {
    await stream.ready();
    if (stream.finished) break;
    stream.write(part);
  }
  end(stream);
  return answer;
}

describe('fs.writeStream', () => {
  it('uploads a few MiB of random bytes byte for byte, across two streams, committed atomically', async () => {
    const first = randomBytes(3 * 1024 * 1024 + 17);
    const second = randomBytes(1024 * 1024 + 5);
    await writeFile(at('up.bin'), 'old content');
    const { uploadId } = await client.call('fs.openWrite', { path: 'up.bin' });
    const parts = [first.subarray(0, 1), first.subarray(1, 65_536), first.subarray(65_536)];
    expect(await sendStream(client, uploadId, parts)).toEqual({
      written: first.length,
      received: first.length,
    });
    // Untouched until the commit.
    expect(await readFile(at('up.bin'), 'utf8')).toBe('old content');
    expect(await sendStream(client, uploadId, [second], undefined, { at: first.length })).toEqual({
      written: second.length,
      received: first.length + second.length,
    });
    const whole = Buffer.concat([first, second]);
    const written = await client.call('fs.commitWrite', { uploadId });
    expect(written).toMatchObject({ path: at('up.bin'), size: whole.length, hash: hashBytes(whole) });
    expect((await readFile(at('up.bin'))).equals(whole)).toBe(true);
    await noTempFiles(t.home);
  });

  it('mixes with fs.writeChunk in one upload, and refuses a stream for the wrong byte', async () => {
    const { uploadId } = await client.call('fs.openWrite', { path: 'mixed.txt' });
    await client.call('fs.writeChunk', { uploadId, data: Buffer.from('abc').toString('base64'), at: 0 });
    await expect(
      sendStream(client, uploadId, [Buffer.from('zzz')], undefined, { at: 0 }),
    ).rejects.toMatchObject({ code: ErrorCode.InvalidState, data: { received: 3 } });
    // Refusing the position changed nothing: the upload goes on.
    await sendStream(client, uploadId, [Buffer.from('def')], undefined, { at: 3 });
    await client.call('fs.writeChunk', { uploadId, data: Buffer.from('g').toString('base64'), at: 6 });
    await client.call('fs.commitWrite', { uploadId });
    expect(await readFile(at('mixed.txt'), 'utf8')).toBe('abcdefg');
  });

  it('a stream the client fails drops the upload: old file intact, no temp file', async () => {
    await writeFile(at('keep.txt'), 'keep me');
    const { uploadId } = await client.call('fs.openWrite', { path: 'keep.txt' });
    await expect(
      sendStream(client, uploadId, [randomBytes(256 * 1024)], (s) =>
        s.fail(new Error('local disk read failed')),
      ),
    ).rejects.toMatchObject({ code: ErrorCode.InternalError });
    await expect(client.call('fs.commitWrite', { uploadId })).rejects.toMatchObject({
      code: ErrorCode.NotFound,
    });
    expect(await readFile(at('keep.txt'), 'utf8')).toBe('keep me');
    await noTempFiles(t.home);
  });

  it('a stream that carries JSON instead of bytes is refused, cancelled, and drops the upload', async () => {
    await writeFile(at('json.txt'), 'before');
    const { uploadId } = await client.call('fs.openWrite', { path: 'json.txt' });
    const peer = await client.waitOpen();
    const stream = peer.openStream();
    stream.uncork();
    const cancelled = new Promise<string>((resolve) => stream.onCancel(resolve));
    const answer = peer.call('fs.writeStream', { uploadId, streamId: stream.id });
    stream.write({ not: 'bytes' });
    await expect(answer).rejects.toMatchObject({ code: ErrorCode.InvalidParams });
    expect(await cancelled).toBeTruthy();
    expect(stream.finished).toBe(true);
    expect(await readFile(at('json.txt'), 'utf8')).toBe('before');
    await noTempFiles(t.home);
  });

  it('an unknown upload is NotFound and its stream is cancelled rather than left queued', async () => {
    const peer = await client.waitOpen();
    const stream = peer.openStream();
    stream.uncork();
    const cancelled = new Promise<string>((resolve) => stream.onCancel(resolve));
    await expect(
      peer.call('fs.writeStream', { uploadId: 'nope', streamId: stream.id }),
    ).rejects.toMatchObject({
      code: ErrorCode.NotFound,
    });
    expect(await cancelled).toBeTruthy();
  });

  it('a readonly token is refused and nothing is written', async () => {
    const { uploadId } = await client.call('fs.openWrite', { path: 'ro.txt' });
    const readonly = await t.connect('readonly');
    await expect(sendStream(readonly, uploadId, [Buffer.from('sneaky')])).rejects.toMatchObject({
      code: ErrorCode.Forbidden,
    });
    await client.call('fs.abortWrite', { uploadId });
    await expect(readFile(at('ro.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
    await noTempFiles(t.home);
  });
});
