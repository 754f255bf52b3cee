/**
 * Signing key rotation on a live Kloud: a new key signs, tokens of the old one keep working
 * until it is retired, then Kloud refuses them; only a site admin may do either.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '@kk/protocol/node.js';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { machineSpec, startTestKloud, type TestKloud, waitFor } from './harness.js';

let t: TestKloud;

beforeAll(async () => {
  t = await startTestKloud();
});
afterAll(async () => {
  await t?.cleanup();
});

async function ping(url: string, token: string): Promise<boolean> {
  const client = connect(url, token, { reconnect: false });
  try {
    return (await client.call('klient.ping', {}, { timeoutMs: 15_000 })).pong;
  } catch {
    return false;
  } finally {
    client.close();
  }
}

// Real processes on a machine other suites load too: generous, never a timing assertion.
describe('signing keys', { timeout: 120_000 }, () => {
  it('rotates, re-keys connected Klients, keeps old tokens valid until the old key is retired, admins only', async () => {
    const m = await t.kloud.store.machines.create(
      { provider: 'local', label: 'keys', meta: { spec: machineSpec({ provider: 'local' }) } },
      { id: t.adminId, username: 'admin' },
    );
    await t.kloud.lifecycle.settled((await t.kloud.lifecycle.request(m.id, 'build', t.adminId)).eventId);
    const before = (await t.api('POST', `/api/v1/machines/${m.id}/token`, {})).body;
    const oldKid = decodeProtectedHeader(before.token).kid;

    const machine = (await t.kloud.store.machines.get(m.id))!;
    const kiteKeyFile = join(
      String((machine.meta.provider as { directory: string }).directory),
      'etc',
      'kite.key',
    );
    const oldKiteKey = readFileSync(kiteKeyFile, 'utf8').trim();
    const rotated = await t.api('POST', '/api/v1/keys/rotate');
    expect(rotated.status).toBe(200);
    expect(rotated.body.signing).not.toBe(oldKid);
    const jwks = await (await fetch(`${t.kloud.url}/.well-known/jwks.json`)).json();
    expect(jwks.keys.map((k: { kid: string }) => k.kid)).toEqual([oldKid, rotated.body.signing]);
    const after = (await t.api('POST', `/api/v1/machines/${m.id}/token`, {})).body;
    expect(decodeProtectedHeader(after.token).kid).toBe(rotated.body.signing);
    expect(await ping(before.url, before.token)).toBe(true);

    const carol = await t.kloud.store.users.create({ username: 'carol' }, null);
    const carolToken = (await t.kloud.store.tokens.create(carol.id, { name: 't' }, null)).token;
    expect((await t.api('POST', '/api/v1/keys/rotate', undefined, carolToken)).status).toBe(403);

    // The connected Klient was given a kite.key signed by the new key, same kite id, on disk too.
    const newKiteKey = readFileSync(kiteKeyFile, 'utf8').trim();
    expect(decodeProtectedHeader(oldKiteKey).kid).toBe(oldKid);
    expect(decodeProtectedHeader(newKiteKey).kid).toBe(rotated.body.signing);
    expect(decodeJwt(newKiteKey).jti).toBe(decodeJwt(oldKiteKey).jti);

    const retired = await t.api('POST', `/api/v1/keys/${oldKid}/retire`);
    expect(retired.status).toBe(200);
    expect(await ping(before.url, before.token)).toBe(false);
    // A Klient refetches the JWKS for an unknown kid, at most every 5 s (jose's cooldown).
    await waitFor('the Klient to know the new key', async () =>
      (await ping(after.url, after.token)) ? true : undefined,
    );
    expect((await t.api('POST', `/api/v1/keys/${rotated.body.signing}/retire`)).status).toBe(409);
  });
});
