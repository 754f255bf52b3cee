/**
 * Makes a running Kloud serve the UI. Once Kloud registers `registerWeb` itself this does
 * nothing (its own GET / answers first); until then it puts the UI's two paths in front of
 * Kloud's request handler on the same server, so the UI is same-origin with the API as in
 * production.
 */
import type { Server } from 'node:http';
import { webAssets } from '../../packages/web/src/server/assets.js';

export async function serveUi(server: Server, kloudUrl: string): Promise<void> {
  const probe = await fetch(`${kloudUrl}/`);
  if (probe.ok && (probe.headers.get('content-type') ?? '').startsWith('text/html')) return;
  const assets = await webAssets();
  const [kloudHandler] = server.listeners('request') as Array<(...args: unknown[]) => void>;
  server.removeAllListeners('request');
  server.on('request', (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const asset = req.method === 'GET' ? assets.get(path) : undefined;
    if (!asset) return kloudHandler!(req, res);
    res.writeHead(200, { 'content-type': asset.contentType, 'cache-control': 'no-cache' });
    res.end(asset.body);
  });
}
