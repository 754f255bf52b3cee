/**
 * The one error body every route answers with: `{error: {code, message, details?}}`. Our own
 * errors carry their code and status; fastify's (bad JSON, body too large) are mapped; anything
 * else is logged and answered as a bare 500, so no stack trace or secret reaches a caller.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { BackendError, ErrorStatus } from '../errors.js';

export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ErrorStatus) as [keyof typeof ErrorStatus, ...(keyof typeof ErrorStatus)[]]),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .meta({ id: 'Error' });

/** Fastify's own errors that are the caller's fault, by fastify code. */
const fastifyCodes: Record<string, BackendError['code']> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_request',
  FST_ERR_VALIDATION: 'invalid_request',
};

/** The BackendError a thrown value stands for (a generic internal error for unknown ones). */
export function toBackendError(error: unknown): BackendError {
  if (error instanceof BackendError) return error;
  const fastifyError = error as Partial<FastifyError>;
  const code = fastifyError?.code ? fastifyCodes[fastifyError.code] : undefined;
  if (code) return new BackendError(code, fastifyError.message ?? 'bad request');
  if (fastifyError?.statusCode === 400) return new BackendError('invalid_request', 'malformed request');
  return new BackendError('internal', 'internal error; see the server log');
}

export function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  const backendError = toBackendError(error);
  if (backendError.code === 'unauthenticated') reply.header('www-authenticate', 'Bearer');
  const retryAfter = (backendError.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
  return reply.status(backendError.status).send(backendError.toBody());
}

/** Fastify error handler: logs what the caller does not see, answers the one error shape. */
export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const backendError = toBackendError(error);
  // Unavailable (the database away, a restart) is the caller's to retry, not a bug: no stack.
  if (backendError.code === 'unavailable')
    request.log.warn({ reason: backendError.message }, 'request refused');
  else if (backendError.status >= 500) request.log.error({ err: error }, 'request failed');
  return sendError(reply, backendError);
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendError(
    reply,
    new BackendError('not_found', `no route ${request.method} ${request.url.split('?')[0]}`),
  );
}
