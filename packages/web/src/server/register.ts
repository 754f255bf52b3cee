/**
 * Serves the UI on a fastify instance: `GET /` and `GET /ui/*`. Kloud calls `registerWeb(app)`
 * once, before it listens. The UI uses hash routes (#/machines/…), so no server path other than
 * these is claimed and Kloud's own routes and WebSocket paths are untouched.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { webAssets } from './assets.js';

export async function registerWeb(app: FastifyInstance): Promise<void> {
  const serve = async (req: FastifyRequest, reply: FastifyReply, path: string) => {
    const asset = (await webAssets()).get(path);
    if (!asset) return reply.code(404).send({ error: { code: 'NotFound', message: `no UI file ${path}` } });
    reply.header('content-type', asset.contentType);
    reply.header('etag', asset.etag);
    reply.header('cache-control', 'no-cache');
    reply.header('x-content-type-options', 'nosniff');
    if (path === '/') {
      // The UI talks only to this origin; nothing else may be loaded or frame it.
      reply.header(
        'content-security-policy',
        "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; frame-ancestors 'none'",
      );
    }
    if (req.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    return reply.send(asset.body);
  };
  app.get('/', (req, reply) => serve(req, reply, '/'));
  app.get('/ui/:file', (req, reply) => serve(req, reply, `/ui/${(req.params as { file: string }).file}`));
}
