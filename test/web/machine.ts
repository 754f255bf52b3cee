/**
 * What is on the machine, read through an access token Kloud issues (not through the UI), to
 * check what the UI did.
 */
import { connect } from '@kk/protocol/node.js';
import type { TestKloud } from '../e2e/harness.js';

async function withMachine<T>(
  kloud: TestKloud,
  id: string,
  fn: (client: ReturnType<typeof connect>) => Promise<T>,
): Promise<T> {
  const grant = (await kloud.api('POST', `/api/v1/machines/${id}/token`, {})).body;
  const client = connect(grant.url, grant.token, { reconnect: false });
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/** The terminal sessions on the machine. */
export function sessionsOf(kloud: TestKloud, id: string): Promise<Array<{ cols: number }>> {
  return withMachine(kloud, id, async (c) => (await c.call('terminal.list', {})).sessions);
}

/** A file in the machine user's home, as base64. */
export function machineFileBase64(kloud: TestKloud, id: string, name: string): Promise<string> {
  return withMachine(
    kloud,
    id,
    async (c) => (await c.call('fs.readFile', { path: name, encoding: 'base64' })).content ?? '',
  );
}

/** A text file in the machine user's home. */
export async function machineFile(kloud: TestKloud, id: string, name: string): Promise<string> {
  return Buffer.from(await machineFileBase64(kloud, id, name), 'base64').toString('utf8');
}
