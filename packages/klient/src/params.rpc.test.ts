/**
 * Missing or wrong params, for every method: the answer is -32602 naming the bad field, and
 * the handler never runs (nothing on disk changes).
 */
import { readdir } from 'node:fs/promises';
import type { MethodName } from '@kk/protocol/catalogue/index.js';
import type { RpcClient } from '@kk/protocol/client/client.js';
import { ErrorCode } from '@kk/protocol/errors.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKlient, type TestKlient } from './testing/harness.js';

let t: TestKlient;
let client: RpcClient;

beforeAll(async () => {
  t = await startTestKlient();
  client = await t.connect('owner');
});
afterAll(() => t.close());

/** [method, bad params, the field the error must name]. */
const cases: Array<[MethodName, unknown, string]> = [
  ['klient.ping', { extra: 1 }, '(params)'],
  ['klient.info', [1, 2], '(params)'],
  ['klient.usage', { since: 0 }, '(params)'],
  ['fs.readDirectory', { path: 42 }, 'path'],
  ['fs.readDirectory', { path: '.', limit: 10_001 }, 'limit'],
  ['fs.unwatch', { watchId: 'one' }, 'watchId'],
  ['fs.readFile', {}, 'path'],
  ['fs.readFile', { path: 'x', encoding: 'latin1' }, 'encoding'],
  ['fs.readFile', { path: 'x', length: 1.5 }, 'length'],
  ['fs.writeFile', { path: 'x' }, 'content'],
  ['fs.writeFile', { path: 'x', content: 'y', mode: 0o10000 }, 'mode'],
  ['fs.writeFile', { path: 'x\0y', content: 'y' }, 'path'],
  ['fs.openWrite', { path: 'x', offset: -1 }, 'offset'],
  ['fs.openWrite', { path: 'x', checksum: 'md5' }, 'checksum'],
  ['fs.writeChunk', { data: 'AAAA' }, 'uploadId'],
  ['fs.commitWrite', { uploadId: 7 }, 'uploadId'],
  ['fs.abortWrite', {}, 'uploadId'],
  ['fs.createDirectory', { path: 'd', recursive: 'yes' }, 'recursive'],
  ['fs.remove', { target: 'x' }, 'path'],
  ['fs.rename', { from: 'a' }, 'to'],
  ['fs.move', { from: 'a', to: '' }, 'to'],
  ['fs.copy', { to: 'b' }, 'from'],
  ['fs.getInfo', { path: 'x', hash: 'please' }, 'hash'],
  ['fs.setPermissions', { path: 'x', mode: '755' }, 'mode'],
  ['fs.glob', { patterns: 5 }, 'patterns'],
  ['fs.uniquePath', { path: '' }, 'path'],
  ['fs.getDiskInfo', { path: null }, 'path'],
  ['fs.getPathSize', { paths: ['x'] }, 'path'],
  ['exec.run', { argv: 'ls -l' }, 'argv'],
  ['exec.run', { command: 'true', env: { A: 1 } }, 'env.A'],
  ['exec.run', { command: 'true', maxOutputBytes: 1e12 }, 'maxOutputBytes'],
  ['exec.start', { command: '' }, 'command'],
  ['exec.start', { command: 'echo a\0b' }, 'command'],
  ['exec.run', { argv: ['echo', 'a\0b'] }, 'argv.1'],
  ['exec.run', { argv: ['true'], env: { 'A=B': 'c' } }, 'env.A=B'],
  ['exec.write', { data: 'x' }, 'id'],
  ['exec.kill', { id: 'x', signal: 9 }, 'signal'],
  ['exec.list', { all: true }, '(params)'],
];

describe('params', () => {
  it.each(cases)('%s %j → -32602 naming %s', async (method, params, field) => {
    const before = await readdir(t.home);
    const error = await client.call(method, params as never).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toMatchObject({ code: ErrorCode.InvalidParams });
    const issues = (error as { data: { issues: Array<{ path: string }> } }).data.issues;
    expect(issues.map((i) => i.path)).toContain(field);
    expect(await readdir(t.home)).toEqual(before);
  });

  it('names an unknown method', async () => {
    await expect(client.call('fs.format' as MethodName, {} as never)).rejects.toMatchObject({
      code: ErrorCode.MethodNotFound,
    });
  });
});
