import type { RpcClient } from '@kk/protocol/client/client.js';
import { connect } from '@kk/protocol/node.js';
import { CliError, toCliError } from '../errors.js';
import type { MachineTarget } from './target.js';

/**
 * One connection to a machine's Klient that fails fast: no reconnects, since exec and transfer
 * streams belong to one connection and could not be resumed on another.
 */
export async function connectMachine(target: MachineTarget, timeoutMs = 30_000): Promise<RpcClient> {
  const client = connect(target.url, target.token, { reconnect: false });
  try {
    await client.waitOpen(timeoutMs);
  } catch (error) {
    client.close();
    const e = toCliError(error);
    throw new CliError(e.exitCode, `cannot connect to ${target.name}: ${e.message}`);
  }
  return client;
}
