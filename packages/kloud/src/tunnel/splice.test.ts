import { once } from 'node:events';
import type { Socket } from 'node:net';
import { loopbackRigs } from '@kk/relay/loopback-rig.js';
import { afterEach, describe, expect, it } from 'vitest';
import { pipeSplice, type Splice, splice, wsCloseFrame } from './splice.js';

const rigs = loopbackRigs();
const rig = rigs.rig;
afterEach(() => rigs.close());

function collect(socket: Socket): { text: () => string; ended: Promise<void> } {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  return {
    text: () => Buffer.concat(chunks).toString('latin1'),
    ended: once(socket, 'end').then(() => undefined),
  };
}

async function until(check: () => boolean, socket: Socket): Promise<void> {
  while (!check()) await once(socket, 'data');
}

// The relay thread (plain TCP sockets) and Node's pipe (anything else) keep the same promises.
describe.each([
  ['on the relay thread', splice],
  ["on Node's pipe", pipeSplice],
] as const)(
  'splice %s',
  (_name, join: (a: Socket, b: Socket, first?: { toCaller?: Buffer; toMachine?: Buffer }) => Splice) => {
    it('sends each side its first bytes before anything else, then both ways untouched', async () => {
      const r = await rig();
      r.callerSide.pause(); // as the tunnel holds a caller while it opens the channel
      const atMachine = collect(r.machine);
      const atCaller = collect(r.caller);
      join(r.callerSide, r.machineSide, {
        toMachine: Buffer.from('GET / HTTP/1.1\r\n\r\n'),
        toCaller: Buffer.from('head|'),
      });
      r.caller.write('frame-1');
      await until(() => atMachine.text().endsWith('frame-1'), r.machine);
      expect(atMachine.text()).toBe('GET / HTTP/1.1\r\n\r\nframe-1');
      r.machine.write(Buffer.from([0x82, 0x02, 0xff, 0x00]));
      await until(() => atCaller.text().length === 9, r.caller);
      expect(Buffer.from(atCaller.text(), 'latin1')).toEqual(
        Buffer.from([...Buffer.from('head|'), 0x82, 0x02, 0xff, 0x00]),
      );
    });

    it('either side ending ends both, and then done resolves', async () => {
      const r = await rig();
      const joined = join(r.callerSide, r.machineSide);
      const atCaller = collect(r.caller);
      const atMachine = collect(r.machine);
      r.caller.end();
      await atMachine.ended;
      await atCaller.ended;
      await joined.done;
    });

    it('close tells the caller why with a WebSocket close frame and ends the machine side', async () => {
      const r = await rig();
      const joined = join(r.callerSide, r.machineSide);
      const atCaller = collect(r.caller);
      const atMachine = collect(r.machine);
      r.machine.on('error', () => {});
      joined.close({ code: 4003, reason: 'unshared' });
      await atCaller.ended;
      expect(Buffer.from(atCaller.text(), 'latin1')).toEqual(wsCloseFrame(4003, 'unshared'));
      await atMachine.ended;
      r.caller.end();
      await joined.done;
    });
  },
);

describe('splice', () => {
  it("hands plain TCP sockets to the relay thread: Node's own are given up at once", async () => {
    const r = await rig();
    splice(r.callerSide, r.machineSide);
    expect([r.callerSide.destroyed, r.machineSide.destroyed]).toEqual([true, true]);
  });
});
