/**
 * How Kloud's REST routes answer a failure: the backend's error shape
 * `{error: {code, message, details?}}` with the status that fits. Kloud's errors keep their
 * kind as the code (`InvalidState`, `Conflict` …); anything unexpected is a 500 whose details
 * stay in the log.
 */
import { BackendError } from '@kk/backend/errors.js';
import type { FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { isKloudError } from '../errors.js';

export function errorReply(err: unknown, reply: FastifyReply, log: Logger): FastifyReply {
  if (isKloudError(err)) {
    return reply
      .code(err.httpStatus)
      .send({ error: { code: err.kind, message: err.message, ...(err.data ? { details: err.data } : {}) } });
  }
  if (err instanceof BackendError) return reply.code(err.status).send(err.toBody());
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    // fastify's own refusals (bad JSON, body too large, unsupported media type) are the caller's.
    return reply
      .code(e.statusCode)
      .send({ error: { code: e.code ?? 'BadRequest', message: e.message ?? 'bad request' } });
  }
  log.error({ err }, 'request failed');
  return reply.code(500).send({ error: { code: 'Internal', message: 'internal error; see the Kloud log' } });
}
