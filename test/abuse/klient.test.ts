/**
 * Abuse of a real Klient over the wire: a readonly token trying every writing method, a forged
 * and tampered token matrix at the upgrade, seeded JSON-RPC fuzzing of every Klient method, and a
 * scan of its logs for the secrets it was handed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { catalogue, type MethodName, RpcError } from '@kk/protocol';
import { connect, issueAccessToken, KeySet } from '@kk/protocol/node.js';
import { upgradeStatus } from '@kk/protocol/testing/raw.js';
import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paramsFuzzer } from '../support/fuzz-params.js';

const ISSUER = 'http://kloud.test';
const KITE = 'kite-abuse';
const MAIN = fileURLToPath(new URL('../../packages/klient/src/main.ts', import.meta.url));
const klientPrefixes = ['klient.', 'fs.', 'exec.', 'terminal.'];
const klientMethods = (Object.keys(catalogue) as MethodName[]).filter((m) =>
  klientPrefixes.some((p) => m.startsWith(p)),
);

let dir: string;
let home: string;
let keys: KeySet;
let child: ChildProcess;
let url: string;
let log = '';

async function token(
  scope: 'owner' | 'user' | 'readonly',
  claims: { kiteId?: string; issuer?: string } = {},
) {
  return (
    await issueAccessToken(keys, {
      issuer: claims.issuer ?? ISSUER,
      user: 'alice',
      kiteId: claims.kiteId ?? KITE,
      scope,
      expiresInSeconds: 600,
    })
  ).token;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'klient-abuse-'));
  home = join(dir, 'home');
  await mkdir(home);
  await writeFile(join(home, 'keep.txt'), 'precious');
  keys = await KeySet.generate();
  const jwks = join(dir, 'jwks.json');
  await writeFile(jwks, JSON.stringify(keys.toJWKS()));
  child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      MAIN,
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--public-key',
      jwks,
      '--kite-id',
      KITE,
      '--issuer',
      ISSUER,
      '--home',
      home,
      '--log-level',
      'debug',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  url = await new Promise<string>((resolve, reject) => {
    const collect = (text: Buffer) => {
      log += text.toString();
      const match = /"url":"(ws:[^"]+)"/.exec(log);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    child.once('exit', () => reject(new Error(`klient exited:\n${log}`)));
  });
});

afterAll(async () => {
  child?.kill('SIGTERM');
  await rm(dir, { recursive: true, force: true });
});

const upgrade = (headers: Record<string, string>) => upgradeStatus(url, headers);

describe('readonly tokens', () => {
  it('are refused every method that is not a read, and nothing changes', async () => {
    const writing = klientMethods.filter((m) => catalogue[m].access !== 'read');
    expect(writing.length).toBeGreaterThan(10);
    const before = (await readdir(home)).sort();
    const client = connect(url, await token('readonly'), { reconnect: false });
    for (const method of writing) {
      const params = {
        path: 'keep.txt',
        content: 'x',
        command: 'touch pwned',
        argv: ['touch', 'pwned'],
        id: 'x',
        sessionId: 'x',
      };
      const error = await client.call(method, params as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, method).toBeInstanceOf(RpcError);
      expect((error as RpcError).code, method).toBe(4003);
    }
    expect((await readdir(home)).sort()).toEqual(before);
    client.close();
  });
});

describe('forged and tampered tokens', () => {
  it('refuses each with 401 and its own reason, and no socket', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: ISSUER, sub: 'alice', aud: KITE, scope: 'owner', iat: now, exp: now + 600 };
    const { kid, key } = await keys.signingKey();
    const sign = (c: Record<string, unknown>, k = key, header: Record<string, unknown> = {}) =>
      new SignJWT(c).setProtectedHeader({ alg: 'EdDSA', kid, ...header }).sign(k);
    const stranger = await KeySet.generate();
    const good = await token('readonly');
    const [h, p, s] = good.split('.');
    const promoted = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), scope: 'owner' }),
    ).toString('base64url');
    const cases: Array<[string, string | undefined, string]> = [
      ['missing', undefined, 'missing'],
      ['garbage', 'garbage', 'malformed'],
      ['alg none', new UnsecuredJWT(claims).encode(), 'alg-not-allowed'],
      [
        'HMAC',
        await new SignJWT(claims)
          .setProtectedHeader({ alg: 'HS256', kid })
          .sign(new TextEncoder().encode('x'.repeat(32))),
        'alg-not-allowed',
      ],
      ['unknown kid', await sign(claims, (await stranger.signingKey()).key, { kid: 'nope' }), 'unknown-kid'],
      ['another key under our kid', await sign(claims, (await stranger.signingKey()).key), 'bad-signature'],
      ['readonly promoted to owner', `${h}.${promoted}.${s}`, 'bad-signature'],
      ['expired', await sign({ ...claims, iat: now - 1000, exp: now - 100 }), 'expired'],
      ['not yet valid', await sign({ ...claims, nbf: now + 600 }), 'not-yet-valid'],
      ['another machine', await token('owner', { kiteId: 'kite-other' }), 'wrong-audience'],
      ['another issuer', await token('owner', { issuer: 'http://evil.test' }), 'wrong-issuer'],
    ];
    for (const [name, bad, reason] of cases) {
      const answer = await upgrade(bad ? { authorization: `Bearer ${bad}` } : {});
      expect(answer.status, name).toBe(401);
      expect(JSON.parse(answer.body).error.data.reason, name).toBe(reason);
    }
  });
});

describe('fuzzing', () => {
  it('answers 3,000 seeded calls, shaped from each schema and then mutated, with a result or a clear error, never an internal one', {
    timeout: 180_000,
  }, async () => {
    const strings = [
      '',
      'x',
      'keep.txt',
      'new.txt',
      'dir',
      'dir/sub',
      'a/b/c',
      '*.txt',
      '**',
      '\u0000',
      'é',
      ' ',
      'x'.repeat(300),
    ];
    const fuzz = paramsFuzzer(424242, strings);
    const client = connect(url, await token('owner'), { reconnect: false });
    const internal: string[] = [];
    const outcomes = new Map<string, number>();
    await mkdir(join(home, 'dir', 'sub'), { recursive: true });
    for (let i = 0; i < 3000; i++) {
      const method = fuzz.pick(klientMethods);
      const params = fuzz.params(method);
      // Junk stays inside the scratch home: no absolute paths and no way up out of it.
      const text = JSON.stringify(params) ?? '';
      if (text.includes('..') || /"\//.test(text)) continue;
      try {
        await client.call(method, params as never, { timeoutMs: 10_000 });
        outcomes.set('ok', (outcomes.get('ok') ?? 0) + 1);
      } catch (error) {
        if (!(error instanceof RpcError)) throw error;
        outcomes.set(String(error.code), (outcomes.get(String(error.code)) ?? 0) + 1);
        if (error.code === -32603) internal.push(`${method} ${text}: ${error.message}`);
      }
    }
    expect(internal).toEqual([]);
    // The fuzzer must reach the handlers, not only the schema checks.
    expect(outcomes.get('ok') ?? 0).toBeGreaterThan(300);
    expect(await client.call('klient.ping', {} as never)).toBeTruthy();
    expect(child.exitCode).toBeNull();
    client.close();
  });
});

describe('secrets', () => {
  it('never writes tokens, file contents or exec environments to its log', async () => {
    const secret = `s3cr3t-${Date.now()}-planted`;
    const ownerToken = await token('owner');
    const client = connect(url, ownerToken, { reconnect: false });
    await client.call('fs.writeFile', { path: 'secret.txt', content: secret } as never);
    await client.call('fs.readFile', { path: 'secret.txt' } as never);
    await client.call('exec.run', {
      argv: ['/bin/sh', '-c', 'echo "$PLANTED"'],
      env: { PLANTED: secret },
    } as never);
    await client.call('exec.run', { command: `echo ${secret} >/dev/null` } as never).catch(() => {});
    await upgrade({ authorization: `Bearer ${secret}.${secret}.${secret}` });
    client.close();
    // The log is written as things happen; a final ping proves the earlier lines are out.
    const probe = connect(url, await token('readonly'), { reconnect: false });
    await probe.call('klient.ping', {} as never);
    probe.close();
    expect(log.length).toBeGreaterThan(0);
    expect(log).not.toContain(secret);
    expect(log).not.toContain(ownerToken);
    expect(log).not.toContain(ownerToken.split('.')[2]!);
  });
});
