/**
 * Who may call what. Every method's access is in the catalogue and the peer enforces it; these
 * tests prove it for every method Klient serves, over a real connection, and that a refused
 * call changes nothing. Tokens that do not fit this machine never get a socket.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { catalogue, type MethodName } from '@kk/protocol/catalogue/index.js';
import { ErrorCode } from '@kk/protocol/errors.js';
import { connect } from '@kk/protocol/node/connect.js';
import { issueAccessToken, KeySet } from '@kk/protocol/tokens/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ISSUER, KITE_ID, startTestKlient, type TestKlient } from './testing/harness.js';

let t: TestKlient;

beforeAll(async () => {
  t = await startTestKlient();
  await writeFile(join(t.home, 'keep.txt'), 'keep');
});
afterAll(() => t.close());

/** Valid params for every writing method, aimed at things that exist, so only scope can refuse them. */
const writeCalls: Partial<Record<MethodName, unknown>> = {
  'fs.writeFile': { path: 'keep.txt', content: 'changed' },
  'fs.openWrite': { path: 'keep.txt' },
  'fs.writeChunk': { uploadId: 'u', data: 'AAAA' },
  'fs.writeStream': { uploadId: 'u', streamId: 1 },
  'fs.commitWrite': { uploadId: 'u' },
  'fs.abortWrite': { uploadId: 'u' },
  'fs.createDirectory': { path: 'newdir' },
  'fs.remove': { path: 'keep.txt' },
  'fs.rename': { from: 'keep.txt', to: 'moved.txt' },
  'fs.move': { from: 'keep.txt', to: 'moved.txt' },
  'fs.copy': { from: 'keep.txt', to: 'copy.txt' },
  'fs.setPermissions': { path: 'keep.txt', mode: 0o777 },
  'exec.run': { argv: ['touch', 'ran'] },
  'exec.start': { argv: ['touch', 'started'] },
  'exec.write': { id: 'x', data: 'y' },
  'exec.kill': { id: 'x' },
  'exec.list': {},
};

const served = () => Object.keys(t.klient.methods);

describe('authorisation', () => {
  it('serves exactly the klient, fs, exec and terminal parts of the catalogue', () => {
    const expected = Object.keys(catalogue).filter((m) => /^(klient|fs|exec|terminal)\./.test(m));
    expect(served().sort()).toEqual(expected.sort());
  });

  it('every writing method is covered here and marked write in the catalogue', () => {
    const writing = served().filter((m) => catalogue[m as MethodName].access !== 'read');
    expect(writing.filter((m) => /^(fs|exec)\./.test(m)).sort()).toEqual(Object.keys(writeCalls).sort());
  });

  it('a readonly token may not call any writing method, and nothing changes', async () => {
    const readonly = await t.connect('readonly');
    for (const [method, params] of Object.entries(writeCalls)) {
      await expect(readonly.call(method as MethodName, params as never), method).rejects.toMatchObject({
        code: ErrorCode.Forbidden,
        message: expect.stringContaining('readonly'),
      });
    }
    expect(await readFile(join(t.home, 'keep.txt'), 'utf8')).toBe('keep');
    expect((await readdir(t.home)).sort()).toEqual(['keep.txt']);
  });

  it('a readonly token may read, list directories and watch', async () => {
    const readonly = await t.connect('readonly');
    expect((await readonly.call('fs.readFile', { path: 'keep.txt' })).content).toBe('keep');
    const page = await readonly.call('fs.readDirectory', { path: '.', watch: true });
    expect(page.watchId).toBeDefined();
    await readonly.call('klient.info', {});
  });

  it('a user token may write', async () => {
    const user = await t.connect('user');
    await user.call('fs.writeFile', { path: 'by-user.txt', content: 'ok' });
    expect(await readFile(join(t.home, 'by-user.txt'), 'utf8')).toBe('ok');
  });

  it('refuses at the upgrade: no token, another machine, another issuer, another key', async () => {
    const refused = async (token: string) => {
      const client = connect(t.klient.url, token, { reconnect: false });
      try {
        await expect(client.call('klient.ping', {}, { timeoutMs: 10_000 })).rejects.toMatchObject({
          code: ErrorCode.Unauthenticated,
        });
      } finally {
        client.close();
      }
    };
    await refused('');
    await refused('not-a-jwt');
    await refused(await t.token('owner', 'another-kite'));
    const stranger = await KeySet.generate();
    await refused(
      (await issueAccessToken(stranger, { issuer: ISSUER, user: 'eve', kiteId: KITE_ID, scope: 'owner' }))
        .token,
    );
    await refused(
      (
        await issueAccessToken(t.keys, {
          issuer: 'http://elsewhere',
          user: 'eve',
          kiteId: KITE_ID,
          scope: 'owner',
        })
      ).token,
    );
  });
});
