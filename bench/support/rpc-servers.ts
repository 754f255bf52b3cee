/**
 * The servers of the rpc benchmark, in their own process so client and server do not share an
 * event loop: our JSON-RPC endpoint and a raw `ws` echo server. Prints their URLs as one JSON line.
 */
import { createRpcServer } from '@kk/protocol/node.js';
import { WebSocketServer } from 'ws';

const rpc = await createRpcServer({
  authenticate: async () => ({ sub: 'bench', scope: 'owner' }),
  methods: {},
  limits: { maxInFlight: 1024 },
});
const echo = new WebSocketServer({ host: '127.0.0.1', port: 0 });
echo.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
await new Promise((resolve) => echo.once('listening', resolve));
const address = echo.address() as { port: number };
console.log(JSON.stringify({ rpc: rpc.url, echo: `ws://127.0.0.1:${address.port}` }));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
