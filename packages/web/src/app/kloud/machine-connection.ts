/**
 * A machine's Klient, reached through Kloud's tunnel with access tokens Kloud issues for it
 * (`POST /api/v1/machines/:id/token`). The connection reconnects by itself, asking for a new
 * token each time; users of it re-attach in `onConnect`.
 */
import { connect, type RpcClient } from '@kk/protocol';
import type { Api } from './api.js';

interface Grant {
  token: string;
  url: string;
  scope: 'owner' | 'user' | 'readonly';
}

export interface MachineConnection {
  client: RpcClient;
  scope: Grant['scope'];
  close(): void;
}

export async function connectMachine(api: Api, machineId: string): Promise<MachineConnection> {
  const path = `/api/v1/machines/${encodeURIComponent(machineId)}/token`;
  const first = await api.post<Grant>(path, {});
  let spare: string | undefined = first.token;
  const client = connect(first.url, async () => {
    if (spare) {
      const token = spare;
      spare = undefined;
      return token;
    }
    return (await api.post<Grant>(path, {})).token;
  });
  return { client, scope: first.scope, close: () => client.close() };
}
