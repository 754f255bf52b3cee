/**
 * Answers a WebSocket upgrade that will not be accepted with a plain HTTP response in the
 * API's error shape, so a client sees why (401 bad token, 403 no access, 404 no machine,
 * 503 machine offline) instead of a dropped connection.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { isRpcError } from '@kk/protocol/errors.js';
import { storeUnavailable } from '../api/backend-error.js';
import { isKloudError } from '../errors.js';

export function refuseUpgrade(
  socket: Duplex,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: { code, message } });
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `${status === 401 ? 'WWW-Authenticate: Bearer\r\n' : ''}${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

const rpcStatus: Record<number, number> = {
  4001: 401,
  4003: 403,
  4004: 404,
  4009: 409,
  4010: 409,
  4503: 503,
  4008: 504,
};

/** Refuses with the status that fits a thrown KloudError or RpcError; anything else is a 500. */
export function refuseUpgradeWith(socket: Duplex, caught: unknown): void {
  const err = storeUnavailable(caught);
  if (isKloudError(err)) refuseUpgrade(socket, err.httpStatus, err.kind, err.message);
  else if (isRpcError(err)) refuseUpgrade(socket, rpcStatus[err.code] ?? 400, String(err.code), err.message);
  else refuseUpgrade(socket, 500, 'Internal', 'internal error; see the Kloud log');
}
