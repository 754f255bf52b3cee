import type { IncomingMessage } from 'node:http';

/** The bearer token of an upgrade request: `Authorization: Bearer …`, else `?token=…` (browsers). */
export function upgradeToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match?.[1];
  }
  const url = new URL(req.url ?? '/', 'http://localhost');
  return url.searchParams.get('token') ?? undefined;
}
