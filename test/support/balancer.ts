/**
 * A TCP load balancer in front of several Kloud processes, as an operator would put one before
 * them (their shared public URL). Each connection goes to the next backend, round robin; a
 * backend that refuses (a killed process) is skipped. `route` may give a connection an order of
 * its own from its request line — e.g. Klients' links and tunnel data connections to one process
 * first, since a tunnel channel is joined on the process that asked for it.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface Balancer {
  url: string;
  /** How many connections went to each backend port. */
  counts: Map<number, number>;
  close(): Promise<void>;
}

export async function startBalancer(
  ports: number[],
  options: { route?: (requestLine: string) => number[] | undefined } = {},
): Promise<Balancer> {
  const sockets = new Set<Socket>();
  const counts = new Map<number, number>(ports.map((p) => [p, 0]));
  let next = 0;
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };
  const server = createServer((client) => {
    track(client);
    client.on('error', () => client.destroy());
    client.once('data', (first: Buffer) => {
      client.pause();
      const line = first.subarray(0, Math.max(0, first.indexOf('\r\n'))).toString('latin1');
      const start = next++ % ports.length;
      const order = options.route?.(line) ?? [...ports.slice(start), ...ports.slice(0, start)];
      const attempt = (i: number): void => {
        const port = order[i];
        if (port === undefined || client.destroyed) {
          client.destroy();
          return;
        }
        const upstream = connect(port, '127.0.0.1');
        upstream.once('error', () => {
          upstream.destroy();
          attempt(i + 1);
        });
        upstream.once('connect', () => {
          track(upstream);
          counts.set(port, (counts.get(port) ?? 0) + 1);
          upstream.removeAllListeners('error');
          upstream.on('error', () => client.destroy());
          client.on('close', () => upstream.destroy());
          upstream.on('close', () => client.destroy());
          upstream.write(first);
          client.pipe(upstream);
          upstream.pipe(client);
          client.resume();
        });
      };
      attempt(0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
