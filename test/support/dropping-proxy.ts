/**
 * A TCP relay that can cut the network without telling anyone: `blackhole()` keeps every
 * connection open but drops the bytes in both directions (and new connections are accepted and
 * then hear nothing), like a pulled cable or a dead route; `restore()` relays again. Connections
 * made during the cut stay dead (their handshakes were lost), as they would on a real network.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface DroppingProxy {
  url: string;
  targetPort: number;
  blackhole(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startDroppingProxy(targetPort: number): Promise<DroppingProxy> {
  let dropping = false;
  const sockets = new Set<Socket>();
  const relay = (from: Socket, to: Socket) =>
    from.on('data', (chunk) => {
      if (!dropping) to.write(chunk);
    });
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    // A connection opened during the cut never gets through, even after it ends.
    if (dropping) return;
    relay(client, upstream);
    relay(upstream, client);
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    targetPort,
    blackhole: () => {
      dropping = true;
    },
    restore: () => {
      dropping = false;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
