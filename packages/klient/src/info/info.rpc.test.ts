import { userInfo } from 'node:os';
import type { RpcClient } from '@kk/protocol/client/client.js';
import { ErrorCode } from '@kk/protocol/errors.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKlient, type TestKlient } from '../testing/harness.js';
import { VERSION } from '../version.js';

let t: TestKlient;
let client: RpcClient;

beforeAll(async () => {
  t = await startTestKlient();
  client = await t.connect('readonly');
});
afterAll(() => t.close());

describe('klient.*', () => {
  it('klient.ping answers with the clock', async () => {
    const before = Date.now();
    const pong = await client.call('klient.ping', {});
    expect(pong.pong).toBe(true);
    expect(pong.at).toBeGreaterThanOrEqual(before - 1000);
  });

  it('klient.info describes the machine', async () => {
    const info = await client.call('klient.info', {});
    expect(info).toMatchObject({
      os: { platform: 'linux' },
      arch: process.arch,
      user: { name: userInfo().username, uid: userInfo().uid },
      home: t.home,
      version: VERSION,
      kiteId: t.config.kiteId,
    });
    expect(info.memory.total).toBeGreaterThan(info.memory.available);
    expect(info.disk.total).toBeGreaterThan(0);
    expect(info.uptime.system).toBeGreaterThan(0);
    expect(info.cpus).toBeGreaterThan(0);
  });

  it('klient.usage counts writes and exec as activity, not reads', async () => {
    const writer = await t.connect('owner');
    const beforeWrite = Date.now();
    await writer.call('fs.writeFile', { path: 'touch', content: '' });
    const afterWrite = await client.call('klient.usage', {});
    expect(afterWrite.lastActivityAt).toBeGreaterThanOrEqual(beforeWrite);
    await client.call('fs.readDirectory', { path: '.' });
    await client.call('fs.readFile', { path: 'touch' });
    const afterReads = await client.call('klient.usage', {});
    expect(afterReads.lastActivityAt).toBe(afterWrite.lastActivityAt);
    const beforeExec = Date.now();
    await writer.call('exec.run', { argv: ['true'] });
    const afterExec = await client.call('klient.usage', {});
    expect(afterExec.lastActivityAt).toBeGreaterThanOrEqual(beforeExec);
    expect(afterExec.secondsSinceActivity).toBeGreaterThanOrEqual(0);
  });

  it('refuses params it does not know', async () => {
    await expect(client.call('klient.info', { verbose: true } as never)).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
    });
  });
});
