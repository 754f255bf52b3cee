/**
 * Classification of incoming JSON against the JSON-RPC 2.0 specification, strictly: what is a
 * request, a notification, a response, or an invalid request (answered -32600 with the id when
 * the id itself is valid, else null).
 */
import type { JSONRPCID, JSONRPCRequest, JSONRPCResponse } from 'json-rpc-2.0';

export type Incoming =
  | { kind: 'request'; message: JSONRPCRequest & { id: JSONRPCID } }
  | { kind: 'notification'; message: JSONRPCRequest }
  | { kind: 'response'; message: JSONRPCResponse }
  | { kind: 'invalid'; id: JSONRPCID };

function isId(value: unknown): value is JSONRPCID {
  return value === null || typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function classify(value: unknown): Incoming {
  if (!isObject(value)) return { kind: 'invalid', id: null };
  const hasId = Object.hasOwn(value, 'id');
  const id = hasId && isId(value.id) ? value.id : null;
  if (value.jsonrpc !== '2.0') return { kind: 'invalid', id };
  if (Object.hasOwn(value, 'method')) {
    const params = value.params;
    const paramsOk = params === undefined || (typeof params === 'object' && params !== null);
    if (typeof value.method !== 'string' || !paramsOk || (hasId && !isId(value.id))) {
      return { kind: 'invalid', id };
    }
    const message = value as unknown as JSONRPCRequest;
    return hasId
      ? { kind: 'request', message: message as JSONRPCRequest & { id: JSONRPCID } }
      : { kind: 'notification', message };
  }
  const hasResult = Object.hasOwn(value, 'result');
  const hasError = Object.hasOwn(value, 'error');
  if (hasId && isId(value.id) && hasResult !== hasError) {
    if (hasError && !isValidError(value.error)) return { kind: 'invalid', id: null };
    return { kind: 'response', message: value as unknown as JSONRPCResponse };
  }
  return { kind: 'invalid', id };
}

function isValidError(error: unknown): boolean {
  return isObject(error) && typeof error.code === 'number' && typeof error.message === 'string';
}
