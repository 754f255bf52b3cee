import { join } from 'node:path';
import type { Scope } from '@kk/protocol/catalogue/define.js';
import type { RpcClient } from '@kk/protocol/client/client.js';
import { connect } from '@kk/protocol/node/connect.js';
import type { StreamReader } from '@kk/protocol/streams/reader.js';
import { rejection } from '@kk/protocol/testing/harness.js';
import { issueAccessToken } from '@kk/protocol/tokens/index.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { KlientConfig } from '../config.js';
import { ErrorCode } from '../errors.js';
import { ISSUER, KITE_ID, startTestKlient, type TestKlient } from '../testing/harness.js';
import { ClientTerminal, describeTerminal, ViewerEvents } from './test-helpers.js';
import type { ViewerEnd, ViewerEvent } from './viewer.js';

const fullscreen = join(import.meta.dirname, 'fixtures', 'fullscreen.mjs');

/** A real Klient (the whole serve process, in this process) and clients for any user and scope. */
let klients: TestKlient[] = [];
let clients: RpcClient[] = [];
afterEach(async () => {
  for (const c of clients) c.close();
  await Promise.all(klients.map((k) => k.close()));
  klients = [];
  clients = [];
});

async function serve(terminal: KlientConfig['terminal'] = {}) {
  const klient = await startTestKlient({ terminal: { shell: '/bin/sh', ...terminal } });
  klients.push(klient);
  return {
    connect: async (scope: Scope = 'owner', user = 'alice') => {
      const { token } = await issueAccessToken(klient.keys, {
        issuer: ISSUER,
        user,
        kiteId: KITE_ID,
        scope,
        expiresInSeconds: 600,
      });
      const client = connect(klient.klient.url, token, { reconnect: false });
      clients.push(client);
      await client.waitOpen(20_000);
      return client;
    },
  };
}

/** A viewer over the wire: attaches, and collects the stream's events and final value. */
class RemoteViewer extends ViewerEvents {
  readonly ended: Promise<ViewerEnd>;

  private constructor(readonly reader: StreamReader) {
    super();
    reader.onData((chunk) => this.record(chunk as ViewerEvent));
    this.ended = reader.done as Promise<ViewerEnd>;
  }

  static async attach(
    client: RpcClient,
    sessionId: string,
    options: { readOnly?: boolean; cols?: number; rows?: number } = {},
  ): Promise<RemoteViewer> {
    const { streamId } = await client.call('terminal.attach', { sessionId, ...options });
    return new RemoteViewer(client.openReader(streamId));
  }
}

describe('terminal.* over WebSocket', () => {
  it('a session outlives the connection that created it, and a new connection gets its screen back', async () => {
    const server = await serve();
    const first = await server.connect();
    const session = await first.call('terminal.create', {
      shell: process.execPath,
      args: [fullscreen],
      cols: 80,
      rows: 24,
      name: 'draw',
    });
    expect(session).toMatchObject({ name: 'draw', cols: 80, rows: 24, owner: 'alice', viewers: 0 });
    const watcher = await RemoteViewer.attach(first, session.id);
    await watcher.until((v) => v.output().endsWith('\x1b[12;40H\x1b(0'));
    first.close();
    const second = await server.connect();
    await vi.waitFor(async () =>
      expect((await second.call('terminal.list', {})).sessions[0]!.viewers).toBe(0),
    );
    const list = await second.call('terminal.list', {});
    expect(list.sessions.map((s) => s.id)).toEqual([session.id]);
    const back = await RemoteViewer.attach(second, session.id);
    await back.until((v) => v.events.length > 0);
    expect(back.events[0]!.type).toBe('screen');
    const reference = new ClientTerminal().applyAll(watcher.events);
    const rebuilt = new ClientTerminal().applyAll(back.events);
    await Promise.all([reference.settled(), rebuilt.settled()]);
    expect(describeTerminal(rebuilt.term)).toEqual(describeTerminal(reference.term));

    // Typing counts as user activity for klient.usage (Kloud's idle auto-stop).
    const typedAt = Date.now();
    await second.call('terminal.input', { sessionId: session.id, data: 'q' });
    expect((await second.call('klient.usage', {})).lastActivityAt).toBeGreaterThanOrEqual(typedAt);
    expect(await back.ended).toEqual({ reason: 'exit', exitCode: 7, signal: null });
    expect((await second.call('terminal.list', {})).sessions).toEqual([]);
  });

  it('serves several viewers; read-only ones and readonly tokens cannot type', async () => {
    const server = await serve();
    const owner = await server.connect('owner');
    const watcherClient = await server.connect('readonly', 'bob');
    const { id } = await owner.call('terminal.create', { cols: 80, rows: 24 });
    const writer = await RemoteViewer.attach(owner, id);
    const reader = await RemoteViewer.attach(watcherClient, id, { readOnly: true });

    // A readonly token may watch but not attach as a writer, type, or resize.
    expect((await rejection(watcherClient.call('terminal.attach', { sessionId: id }))).code).toBe(
      ErrorCode.Forbidden,
    );
    expect((await rejection(watcherClient.call('terminal.input', { sessionId: id, data: 'x' }))).code).toBe(
      ErrorCode.Forbidden,
    );
    // A write-scope connection attached read-only is refused too.
    const second = await server.connect('user', 'carol');
    await RemoteViewer.attach(second, id, { readOnly: true });
    const refused = await rejection(second.call('terminal.input', { sessionId: id, data: 'echo sneaky\r' }));
    expect(refused.code).toBe(ErrorCode.Forbidden);
    expect(refused.message).toContain('read-only');
    // And one not attached at all.
    const third = await server.connect('user', 'dave');
    expect((await rejection(third.call('terminal.input', { sessionId: id, data: 'x' }))).code).toBe(
      ErrorCode.InvalidState,
    );

    await owner.call('terminal.input', { sessionId: id, data: 'echo "$((6*7))-from-owner"\r' });
    await writer.until((v) => v.output().includes('42-from-owner'));
    await reader.until((v) => v.output().includes('42-from-owner'));
    expect((await owner.call('terminal.list', {})).sessions[0]!.viewers).toBe(3);
    expect(reader.output()).not.toContain('sneaky');

    // Only the creator or an owner may kill; the exit reaches every viewer.
    expect((await rejection(second.call('terminal.kill', { sessionId: id }))).code).toBe(ErrorCode.Forbidden);
    await owner.call('terminal.input', { sessionId: id, data: 'exit 3\r' });
    expect(await writer.ended).toEqual({ reason: 'exit', exitCode: 3, signal: null });
    expect(await reader.ended).toEqual({ reason: 'exit', exitCode: 3, signal: null });
  });

  it('delivers 200000 random bytes in base64 completely, then exit 3', async () => {
    const server = await serve();
    const client = await server.connect();
    const { id } = await client.call('terminal.create', {
      args: ['-c', 'read go; head -c 200000 /dev/urandom | base64; exit 3'],
    });
    const viewer = await RemoteViewer.attach(client, id);
    await viewer.until((v) => v.events.length > 0);
    await client.call('terminal.input', { sessionId: id, data: '\n' });
    expect(await viewer.ended).toEqual({ reason: 'exit', exitCode: 3, signal: null });
    const base64 = viewer.output().replace(/\s/g, '');
    expect(base64).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(base64, 'base64').length).toBe(200000);
  });

  it('resize, rename, detach and kill', async () => {
    const server = await serve();
    const client = await server.connect();
    const { id } = await client.call('terminal.create', { cols: 80, rows: 24 });
    const viewer = await RemoteViewer.attach(client, id, { cols: 120, rows: 40 });
    await viewer.until((v) => v.events.some((e) => e.type === 'resize'));
    for (let i = 0; i < 20; i++)
      void client.call('terminal.resize', { sessionId: id, cols: 90 + i, rows: 30 });
    await client.call('terminal.resize', { sessionId: id, cols: 132, rows: 43 });
    // Resizes are applied after a short coalescing window; the event says when.
    await viewer.until((v) => v.events.some((e) => e.type === 'resize' && e.cols === 132));
    await client.call('terminal.input', { sessionId: id, data: 'stty size\r' });
    await viewer.until((v) => v.output().includes('43 132'));
    const resizes = viewer.events.filter((e) => e.type === 'resize');
    expect(resizes[0]).toEqual({ type: 'resize', cols: 120, rows: 40 });
    expect(resizes.at(-1)).toEqual({ type: 'resize', cols: 132, rows: 43 });
    expect(resizes.length).toBeLessThan(22);

    expect(await client.call('terminal.rename', { sessionId: id, name: 'build' })).toMatchObject({
      name: 'build',
    });
    const badName = await rejection(client.call('terminal.rename', { sessionId: id, name: '' }));
    expect(badName.code).toBe(ErrorCode.InvalidParams);

    expect(await client.call('terminal.detach', { sessionId: id })).toEqual({ detached: true });
    expect(await viewer.ended).toEqual({ reason: 'detached' });
    expect(await client.call('terminal.detach', { sessionId: id })).toEqual({ detached: false });
    expect((await client.call('terminal.list', {})).sessions).toMatchObject([
      { id, name: 'build', viewers: 0 },
    ]);

    const again = await RemoteViewer.attach(client, id, { readOnly: true });
    const badSignal = await rejection(client.call('terminal.kill', { sessionId: id, signal: 'SIGNOPE' }));
    expect(badSignal.code).toBe(ErrorCode.InvalidParams);
    expect(await client.call('terminal.kill', { sessionId: id, signal: 'SIGKILL' })).toEqual({
      signalled: true,
    });
    expect(await again.ended).toEqual({ reason: 'exit', exitCode: null, signal: 'SIGKILL' });
    expect((await rejection(client.call('terminal.attach', { sessionId: id }))).code).toBe(
      ErrorCode.NotFound,
    );
  });

  it('caps sessions per user and refuses bad params with the field named', async () => {
    const server = await serve({ maxSessionsPerUser: 1 });
    const alice = await server.connect('user', 'alice');
    const bob = await server.connect('user', 'bob');
    await alice.call('terminal.create', {});
    const capped = await rejection(alice.call('terminal.create', {}));
    expect(capped.code).toBe(ErrorCode.RateLimited);
    await bob.call('terminal.create', {});
    const bad = await rejection(bob.call('terminal.create', { cols: 0 } as never));
    expect(bad.code).toBe(ErrorCode.InvalidParams);
    expect(JSON.stringify(bad.data)).toContain('cols');
    const nul = await rejection(bob.call('terminal.create', { args: ['-c', 'echo a\0b'] }));
    expect(nul.code).toBe(ErrorCode.InvalidParams);
    expect(JSON.stringify(nul.data)).toContain('NUL');
    const missing = await rejection(bob.call('terminal.create', { cwd: '/no/such/dir' }));
    expect(missing.code).toBe(ErrorCode.NotFound);
    expect((await bob.call('terminal.list', {})).sessions).toHaveLength(2);
  });
});
