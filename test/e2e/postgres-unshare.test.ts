/**
 * Unsharing across Kloud processes (DESIGN §7): two `kloud serve` processes on one PostgreSQL,
 * the machine's Klient linked to process B. A user connected through B is disconnected (close
 * code 4003) when the owner unshares through process A, which holds none of the connections:
 * the order reaches B through the store's LISTEN/NOTIFY. The owner's own connection stays.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { freePort } from '../support/free-port.js';
import { type KloudProcesses, kloudProcesses } from '../support/kloud-processes.js';
import { type Api, apiClient, waitFor } from './harness.js';

let klouds: KloudProcesses;

beforeAll(async () => {
  klouds = await kloudProcesses();
}, 120_000);
afterAll(() => klouds?.stopAll(), 60_000);

/** A JSON-RPC WebSocket to the machine through Kloud; `closed` resolves with the close code. */
async function open(url: string, token: string) {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let id = 0;
  const ping = () =>
    new Promise<unknown>((resolve, reject) => {
      const mine = ++id;
      const onMessage = (data: Buffer) => {
        const answer = JSON.parse(data.toString());
        if (answer.id !== mine) return;
        ws.off('message', onMessage);
        if (answer.error) reject(new Error(answer.error.message));
        else resolve(answer.result);
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: mine, method: 'klient.ping', params: {} }));
    });
  return { ws, closed, ping };
}

describe('unsharing on PostgreSQL shared by two Kloud processes', () => {
  it("closes a user's connection held by the other process; the owner's stays", async () => {
    const databaseUrl = await klouds.pg.createDatabase('kloud_unshare');
    const [portA, portB] = [await freePort(), await freePort()];
    // Machines and callers use B's address, so the Klient links to B and every caller is spliced there.
    const common = ['--database-url', databaseUrl, '--public-url', `http://127.0.0.1:${portB}`];
    const a = await klouds.start(portA, [...common, '--heartbeat-ms', '1000']);
    await klouds.start(portB, [...common, '--heartbeat-ms', '1000']);
    const token = a.token!;
    const viaA: Api = apiClient(() => `http://127.0.0.1:${portA}`, token);
    const viaB: Api = apiClient(() => `http://127.0.0.1:${portB}`, token);

    const machine = await viaB('POST', '/api/v1/machines', { provider: 'local', label: 'shared' });
    expect(machine.status).toBe(201);
    const id = machine.body.id as string;
    const build = await viaB('POST', `/api/v1/machines/${id}/build`);
    expect(build.status).toBe(202);
    const built = await waitFor('the machine to be Running and online', async () => {
      const s = (await viaB('GET', `/api/v1/machines/${id}/state`)).body;
      if (s.state === 'NotInitialized' && s.stateReason) throw new Error(`build failed: ${s.stateReason}`);
      return s.state === 'Running' && s.online ? s : undefined;
    });
    expect(built.state).toBe('Running');

    const bob = await viaA('POST', '/api/v1/users', { username: 'bob' });
    const bobToken = (await viaA('POST', '/api/v1/tokens', { name: 't', userId: bob.body.id })).body.token;
    const share = await viaA('PUT', `/api/v1/machines/${id}/users/${bob.body.id}`, { permanent: true });
    expect(share.status).toBe(200);

    const ownerGrant = (await viaA('POST', `/api/v1/machines/${id}/token`, {})).body;
    const bobGrant = (await viaA('POST', `/api/v1/machines/${id}/token`, {}, bobToken)).body;
    expect(new URL(bobGrant.url).port).toBe(String(portB));
    const owner = await open(ownerGrant.url, ownerGrant.token);
    const bobs = await open(bobGrant.url, bobGrant.token);
    expect(await bobs.ping()).toMatchObject({ pong: true });
    expect(await owner.ping()).toMatchObject({ pong: true });

    const unshare = await viaA('DELETE', `/api/v1/machines/${id}/users/${bob.body.id}`);
    expect(unshare.status).toBe(204);
    const notClosed = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error("bob's connection through B was not closed")), 60_000).unref(),
    );
    expect(await Promise.race([bobs.closed, notClosed])).toBe(4003);
    // The owner's connection is untouched and still answers.
    expect(owner.ws.readyState).toBe(WebSocket.OPEN);
    expect(await owner.ping()).toMatchObject({ pong: true });
    owner.ws.close();
    await owner.closed;

    const destroy = await viaA('POST', `/api/v1/machines/${id}/destroy`);
    expect(destroy.status).toBe(202);
    await waitFor('the machine to be destroyed', async () =>
      (await viaA('GET', `/api/v1/machines/${id}/state`)).body.state === 'Terminated' ? true : undefined,
    );
  }, 180_000);
});
