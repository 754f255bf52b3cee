/**
 * ETags and If-Match (the Atlas seed's concurrency control). A resource's ETag is its version:
 * `"v<version>"`. A change must name the version it was made against; the store applies it only
 * if the row is still at that version, so of two writers with the same ETag one wins and the
 * other gets 412 and must read again.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../errors.js';

export const etagOf = (version: number) => `"v${version}"`;

export function setEtag(reply: FastifyReply, resource: { version: number }): void {
  reply.header('etag', etagOf(resource.version));
}

/**
 * The version an update or delete was made against, from If-Match. Missing: 428. `*`: any
 * version (undefined, an unconditional change). Anything that names no version of ours: 412.
 */
export function ifMatchVersion(request: FastifyRequest): number | undefined {
  const header = request.headers['if-match'];
  if (header === undefined || header === '') {
    throw errors.ifMatchRequired(
      'this change needs an If-Match header with the ETag you read (GET the resource first)',
    );
  }
  if (header.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"v(\d{1,15})"\s*$/.exec(header);
  if (!match) throw errors.stale(`If-Match ${header} is not an ETag of this resource; GET it again`);
  return Number(match[1]);
}
