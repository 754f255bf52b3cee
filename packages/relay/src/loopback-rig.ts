/**
 * For tests of a relay: real loopback TCP connections
 * `caller` ⇄ [callerSide | machineSide] ⇄ `machine`, where the two middle sockets are what a
 * relay joins (as Kloud's tunnel holds a caller's socket and a Klient's data connection).
 */
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

export interface LoopbackRig {
  caller: Socket;
  callerSide: Socket;
  machineSide: Socket;
  machine: Socket;
}

/** Makes rigs and closes every socket and server they made; `allowHalfOpen` for all of them. */
export function loopbackRigs(options: { allowHalfOpen?: boolean } = {}) {
  const allowHalfOpen = options.allowHalfOpen ?? false;
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  const kept = (s: Socket) => {
    sockets.push(s);
    return s;
  };
  const listening = async () => {
    const server = createServer({ allowHalfOpen });
    servers.push(server);
    const accepted = once(server, 'connection').then(([s]) => kept(s as Socket));
    await once(server.listen(0, '127.0.0.1'), 'listening');
    return { accepted, port: (server.address() as AddressInfo).port };
  };
  const dial = async (port: number) => {
    const s = kept(connect({ port, host: '127.0.0.1', allowHalfOpen }));
    await once(s, 'connect');
    return s;
  };
  return {
    async rig(): Promise<LoopbackRig> {
      const front = await listening();
      const back = await listening();
      const caller = await dial(front.port);
      const callerSide = await front.accepted;
      const machineSide = await dial(back.port);
      return { caller, callerSide, machineSide, machine: await back.accepted };
    },
    close(): void {
      for (const s of sockets.splice(0)) s.destroy();
      for (const s of servers.splice(0)) s.close();
    },
  };
}
