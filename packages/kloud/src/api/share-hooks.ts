/**
 * Sharing is the backend's API (`PUT`/`DELETE /api/v1/machines/:id/users/:userId`); what it
 * cannot do is end connections already open through Kloud's tunnel. This hook does: once an
 * unshare succeeds, that user's live connections to the machine are closed (code 4003), and a
 * share narrowed to read-only closes them too, so they reconnect with the new scope — on every
 * Kloud process sharing the store, not only this one.
 */
import type { Store } from '@kk/backend/store/store.js';
import type { FastifyInstance } from 'fastify';
import { closeEverywhere } from '../tunnel/close-everywhere.js';
import type { Tunnel } from '../tunnel/tunnel.js';

const shareRoute = '/api/v1/machines/:id/users/:userId';

export function closeConnectionsOnUnshare(app: FastifyInstance, store: Store, tunnel: () => Tunnel): void {
  app.addHook('onResponse', async (request, reply) => {
    if (request.routeOptions.url !== shareRoute || reply.statusCode >= 300) return;
    const { id, userId } = request.params as { id: string; userId: string };
    const narrowed =
      request.method === 'PUT' && (request.body as { readonly?: boolean } | undefined)?.readonly === true;
    if (request.method !== 'DELETE' && !narrowed) return;
    const machine = (await store.machines.get(id)) ?? (await store.machines.byUid(id));
    if (!machine) return;
    await closeEverywhere(store, tunnel(), {
      machineId: machine.id,
      userId,
      reason: narrowed
        ? 'your access changed to read-only; reconnect'
        : 'the machine is no longer shared with you',
    });
  });
}
