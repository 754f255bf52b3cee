import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineMethod, type MethodSpec } from './catalogue/define.js';
import { AppCode } from './errors.js';
import { decodeFrame, FRAME_HEADER_BYTES, frameInPlace } from './frames.js';
import type { RpcServer } from './node/server.js';
import type { CallContext, HandlerMap } from './peer.js';
import { anyCall, clientTo, rejection, testKeys, tokenFor, tokenServer } from './testing/harness.js';
import { RawSocket } from './testing/raw.js';
import type { KeySet } from './tokens/keyset.js';

const streamCatalogue: Record<string, MethodSpec> = {
  'test.count': defineMethod({
    summary: 'streams n byte chunks then ends with a total',
    access: 'read',
    params: z.object({
      chunks: z.number().int().min(0),
      bytes: z.number().int().min(1),
      json: z.boolean().optional(),
      framed: z.boolean().optional(),
    }),
    result: z.object({ streamId: z.number() }),
    streams: true,
  }),
  'test.forever': defineMethod({
    summary: 'streams until cancelled, honouring backpressure',
    access: 'read',
    params: z.object({}),
    result: z.object({ streamId: z.number() }),
    streams: true,
  }),
};

let keys: KeySet;
let server: RpcServer | undefined;
beforeAll(async () => {
  keys = await testKeys();
});
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** What the endless producer reports, so the test can wait for events instead of time. */
class ProducerProbe {
  written = 0;
  isBlocked = false;
  cancelledWith: string | undefined;
  private blockedWaiters: Array<(written: number) => void> = [];
  private cancelWaiters: Array<() => void> = [];
  blocked(): Promise<number> {
    if (this.isBlocked) return Promise.resolve(this.written);
    return new Promise((resolve) => this.blockedWaiters.push(resolve));
  }
  cancelled(): Promise<void> {
    return this.cancelledWith !== undefined
      ? Promise.resolve()
      : new Promise((resolve) => this.cancelWaiters.push(resolve));
  }
  reportBlocked(): void {
    this.isBlocked = true;
    for (const w of this.blockedWaiters.splice(0)) w(this.written);
  }
  reportCancelled(reason: string): void {
    this.cancelledWith = reason;
    for (const w of this.cancelWaiters.splice(0)) w();
  }
}

function handlers(probe: ProducerProbe): HandlerMap {
  return {
    'test.count': (
      p: { chunks: number; bytes: number; json?: boolean; framed?: boolean },
      ctx: CallContext,
    ) => {
      const stream = ctx.openStream();
      void (async () => {
        for (let i = 0; i < p.chunks; i++) {
          if (p.framed) {
            // The header's room left free, then the payload, as a file reader fills it.
            const frame = new Uint8Array(FRAME_HEADER_BYTES + p.bytes).fill(i % 256);
            stream.writeFrame(frame);
          } else stream.write(p.json ? { i } : new Uint8Array(p.bytes).fill(i % 256));
          await stream.ready();
        }
        stream.end({ total: p.chunks * p.bytes });
      })();
      return { streamId: stream.id };
    },
    'test.forever': (_p: unknown, ctx: CallContext) => {
      const stream = ctx.openStream();
      const chunk = new Uint8Array(64 * 1024);
      stream.onCancel((reason) => probe.reportCancelled(reason));
      void (async () => {
        while (!stream.finished) {
          if (!stream.write(chunk)) {
            probe.written += chunk.byteLength;
            probe.reportBlocked();
            await stream.ready();
            probe.isBlocked = false;
          } else probe.written += chunk.byteLength;
        }
      })();
      return { streamId: stream.id };
    },
  } as unknown as HandlerMap;
}

describe('streams', () => {
  it('delivers binary chunks in order, then the final value', async () => {
    server = await tokenServer(keys, { methods: handlers(new ProducerProbe()), catalogue: streamCatalogue });
    const client = clientTo(server.url, await tokenFor(keys));
    const { streamId } = (await anyCall(client)('test.count', { chunks: 50, bytes: 1000 })) as {
      streamId: number;
    };
    const reader = client.openReader(streamId);
    let received = 0;
    let index = 0;
    for await (const chunk of reader) {
      expect(chunk).toBeInstanceOf(Uint8Array);
      expect((chunk as Uint8Array)[0]).toBe(index++ % 256);
      received += (chunk as Uint8Array).byteLength;
    }
    expect(received).toBe(50_000);
    expect(await reader.done).toEqual({ total: 50_000 });
    client.close();
  });

  it('sends frames built in place: the payload after the header room, in order', async () => {
    server = await tokenServer(keys, { methods: handlers(new ProducerProbe()), catalogue: streamCatalogue });
    const client = clientTo(server.url, await tokenFor(keys));
    const { streamId } = (await anyCall(client)('test.count', {
      chunks: 40,
      bytes: 300_000,
      framed: true,
    })) as {
      streamId: number;
    };
    let index = 0;
    for await (const chunk of client.openReader(streamId)) {
      const bytes = chunk as Uint8Array;
      expect(bytes.byteLength).toBe(300_000);
      expect(bytes.every((b) => b === index % 256)).toBe(true);
      index++;
    }
    expect(index).toBe(40);
    client.close();
  });

  it('refuses to frame in place a buffer with no room for the header', () => {
    expect(() => frameInPlace(1, 0, new Uint8Array(FRAME_HEADER_BYTES - 1))).toThrow(RangeError);
    expect(decodeFrame(frameInPlace(7, 3, new Uint8Array(FRAME_HEADER_BYTES)))).toMatchObject({
      streamId: 7,
      seq: 3,
    });
  });

  it('keeps data of a burst of streams that arrives before their readers are opened', async () => {
    server = await tokenServer(keys, { methods: handlers(new ProducerProbe()), catalogue: streamCatalogue });
    const client = clientTo(server.url, await tokenFor(keys));
    const totals = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const { streamId } = (await anyCall(client)('test.count', { chunks: 2, bytes: 100 })) as {
          streamId: number;
        };
        let bytes = 0;
        for await (const chunk of client.openReader(streamId)) bytes += (chunk as Uint8Array).byteLength;
        return bytes;
      }),
    );
    expect(totals.every((t) => t === 200)).toBe(true);
    expect(client.connection!.stats()).toMatchObject({ readers: 0, unclaimed: 0 });
    client.close();
  });

  it('keeps the end of a stream that ends before its reader is opened', async () => {
    server = await tokenServer(keys, { methods: handlers(new ProducerProbe()), catalogue: streamCatalogue });
    const client = clientTo(server.url, await tokenFor(keys));
    const { streamId } = (await anyCall(client)('test.count', { chunks: 0, bytes: 1 })) as {
      streamId: number;
    };
    // The end is surely in by now; the reader opened afterwards must still see it.
    await anyCall(client)('rpc.ping', {});
    const reader = client.openReader(streamId);
    expect(await reader.done).toEqual({ total: 0 });
    const chunks: unknown[] = [];
    for await (const chunk of reader) chunks.push(chunk);
    expect(chunks).toEqual([]);
    client.close();
  });

  it('delivers JSON chunks as stream.data notifications', async () => {
    server = await tokenServer(keys, { methods: handlers(new ProducerProbe()), catalogue: streamCatalogue });
    const client = clientTo(server.url, await tokenFor(keys));
    const { streamId } = (await anyCall(client)('test.count', { chunks: 3, bytes: 1, json: true })) as {
      streamId: number;
    };
    const seen: unknown[] = [];
    for await (const chunk of client.openReader(streamId)) seen.push(chunk);
    expect(seen).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    client.close();
  });

  it('sends the announcing response before any data, with a 9-byte header and no base64', async () => {
    server = await tokenServer(keys, { methods: handlers(new ProducerProbe()), catalogue: streamCatalogue });
    const raw = new RawSocket(server.url, await tokenFor(keys));
    raw.send(
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'test.count', params: { chunks: 1, bytes: 4 } }),
    );
    const first = JSON.parse((await raw.next()).toString()) as { result: { streamId: number } };
    const frame = decodeFrame(new Uint8Array((await raw.next()) as Buffer));
    expect(frame).toMatchObject({ streamId: first.result.streamId, seq: 0 });
    expect(frame!.payload.byteLength).toBe(4);
    raw.close();
  });

  it('stops the producer when the reader cancels', async () => {
    const probe = new ProducerProbe();
    server = await tokenServer(keys, { methods: handlers(probe), catalogue: streamCatalogue });
    const client = clientTo(server.url, await tokenFor(keys));
    const { streamId } = (await anyCall(client)('test.forever', {})) as { streamId: number };
    const reader = client.openReader(streamId);
    await reader.next();
    reader.cancel('enough');
    await probe.cancelled();
    expect(probe.cancelledWith).toBe('enough');
    expect((await rejection(reader.done)).code).toBe(AppCode.Cancelled);
    client.close();
  });

  it('drops data still in flight after a cancel, so the connection stays usable', async () => {
    const probe = new ProducerProbe();
    server = await tokenServer(keys, {
      methods: handlers(probe),
      catalogue: streamCatalogue,
      limits: { highWaterBytes: 64 * 1024 },
    });
    const client = clientTo(server.url, await tokenFor(keys), { limits: { highWaterBytes: 64 * 1024 } });
    const { streamId } = (await anyCall(client)('test.forever', {})) as { streamId: number };
    const reader = client.openReader(streamId);
    await probe.blocked();
    await reader.next();
    reader.cancel('enough');
    await probe.cancelled();
    expect(await client.call('rpc.ping', {}, { timeoutMs: 5000 })).toEqual({ pong: true });
    expect(client.connection!.stats()).toMatchObject({ readers: 0, unclaimed: 0 });
    client.close();
  });

  it('keeps the sender bounded when the reader stops reading, and loses nothing when it resumes', async () => {
    const probe = new ProducerProbe();
    server = await tokenServer(keys, {
      methods: handlers(probe),
      catalogue: streamCatalogue,
      limits: { highWaterBytes: 256 * 1024 },
    });
    const raw = new RawSocket(server.url, await tokenFor(keys));
    raw.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'test.forever', params: {} }));
    const announce = JSON.parse((await raw.next()).toString()) as { result: { streamId: number } };
    raw.ws.pause();
    // Once the kernel buffers are full, the producer waits in ready() and writes nothing more.
    const heapBefore = process.memoryUsage().arrayBuffers;
    await probe.blocked();
    // A negative can only be checked over a span: an unbounded producer writes gigabytes in it.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const writtenWhenBlocked = probe.written;
    expect(probe.isBlocked).toBe(true);
    // Bounded: kernel socket buffers (a few MiB on loopback) plus the high-water mark, not the whole stream.
    expect(writtenWhenBlocked).toBeLessThan(64 * 1024 * 1024);
    expect(process.memoryUsage().arrayBuffers - heapBefore).toBeLessThan(32 * 1024 * 1024);
    raw.ws.resume();
    let received = 0;
    while (received < writtenWhenBlocked) {
      const frame = decodeFrame(new Uint8Array((await raw.next()) as Buffer));
      expect(frame?.streamId).toBe(announce.result.streamId);
      received += frame!.payload.byteLength;
    }
    expect(received).toBeGreaterThanOrEqual(writtenWhenBlocked);
    raw.close();
  });
});
