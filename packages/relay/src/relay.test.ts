import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { type JoinOptions, joinOnRelay, type RelayedPair, relayAvailability } from './index.js';
import { type LoopbackRig, loopbackRigs } from './loopback-rig.js';

const run = promisify(execFile);

// Half-open allowed: each test ends each direction itself, as a relay must carry that.
const rigs = loopbackRigs({ allowHalfOpen: true });
const rig = rigs.rig;
afterEach(() => rigs.close());

function join(r: LoopbackRig, options?: JoinOptions): RelayedPair {
  const pair = joinOnRelay(r.callerSide, r.machineSide, options);
  if (typeof pair === 'string') throw new Error(`not relayed: ${pair}`);
  return pair;
}

/** Reads `socket` until it ends; resolves with everything it carried. */
function readAll(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.resume();
  return new Promise((resolve, reject) => {
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });
}

/** Resolves once `socket` has delivered `n` bytes (or more), with the first `n`. */
function readBytes(socket: Socket, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let have = 0;
  return new Promise((resolve) => {
    const onData = (c: Buffer) => {
      chunks.push(c);
      have += c.length;
      if (have < n) return;
      socket.off('data', onData);
      socket.pause();
      const all = Buffer.concat(chunks);
      if (all.length > n) socket.unshift(all.subarray(n));
      resolve(all.subarray(0, n));
    };
    socket.on('data', onData);
    socket.resume();
  });
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('joinOnRelay', () => {
  it('runs on this machine (Linux, addon built)', () => {
    expect(relayAvailability()).toMatchObject({ available: true });
  });

  it('sends each end its first bytes, then carries both directions byte for byte', async () => {
    const r = await rig();
    const pair = join(r, {
      firstToCaller: Buffer.from('HELLO-CALLER|'),
      firstToMachine: Buffer.from('HELLO-MACHINE|'),
    });
    expect(r.callerSide.destroyed).toBe(true);
    expect(r.machineSide.destroyed).toBe(true);
    expect((await readBytes(r.machine, 14)).toString()).toBe('HELLO-MACHINE|');
    expect((await readBytes(r.caller, 13)).toString()).toBe('HELLO-CALLER|');
    for (let i = 0; i < 50; i++) {
      r.caller.write(`ping ${i}`);
      expect((await readBytes(r.machine, `ping ${i}`.length)).toString()).toBe(`ping ${i}`);
      r.machine.write(`pong ${i}`);
      expect((await readBytes(r.caller, `pong ${i}`.length)).toString()).toBe(`pong ${i}`);
    }
    // Each direction ends on its own: the machine still answers after the caller is done.
    r.caller.end();
    const machineGot = readAll(r.machine);
    expect((await machineGot).length).toBe(0);
    r.machine.end('last words');
    expect((await readAll(r.caller)).toString()).toBe('last words');
    expect(await pair.done).toEqual({ toCaller: 13 + 340 + 10, toMachine: 14 + 340 });
  });

  it('delivers what Node had already read from a socket, after the first bytes and before anything later', async () => {
    const r = await rig();
    r.callerSide.pause();
    r.caller.write('early-1|');
    // Node reads into the paused stream's buffer: the bytes are in JavaScript, not the kernel.
    await once(r.callerSide, 'readable');
    const pair = join(r, { firstToMachine: Buffer.from('REQUEST|') });
    r.caller.end('late');
    expect((await readAll(r.machine)).toString()).toBe('REQUEST|early-1|late');
    r.machine.end();
    await readAll(r.caller);
    await pair.done;
  });

  it('moves 64 MiB each way intact, and a caller that stops reading holds the machine back', async () => {
    const r = await rig();
    const pair = join(r);
    const down = randomBytes(64 * 1024 * 1024);
    const up = randomBytes(64 * 1024 * 1024);
    let written = 0;
    let received = 0;
    let mostAhead = 0;
    r.caller.on('data', (c: Buffer) => {
      received += c.length;
    });
    const callerGot = readAll(r.caller);
    r.caller.pause();
    const machineGot = readAll(r.machine);
    const writeAll = async () => {
      for (let at = 0; at < down.length; at += 1024 * 1024) {
        const more = r.machine.write(down.subarray(at, at + 1024 * 1024));
        written += 1024 * 1024;
        mostAhead = Math.max(mostAhead, written - received);
        if (!more) await once(r.machine, 'drain');
      }
      r.machine.end();
    };
    const machineDone = writeAll();
    r.caller.end(up);
    // The caller reads nothing for a while; whatever the relay buffered shows in `mostAhead`.
    await new Promise((resolve) => setTimeout(resolve, 300));
    r.caller.resume();
    await machineDone;
    expect(sha256(await callerGot)).toBe(sha256(down));
    expect(sha256(await machineGot)).toBe(sha256(up));
    // Kernel socket buffers on three hops, the machine's own 1 MiB writes and the relay's
    // 64 KiB: far below the 64 MiB a relay without backpressure would have taken.
    expect(mostAhead).toBeLessThan(32 * 1024 * 1024);
    expect(await pair.done).toEqual({ toCaller: down.length, toMachine: up.length });
  });

  it('close: ends the machine at once and gives the caller what it is owed, then the last bytes, then the end', async () => {
    const r = await rig();
    const pair = join(r);
    const machineEnded = readAll(r.machine);
    r.machine.write('before-close|');
    expect((await readBytes(r.caller, 13)).toString()).toBe('before-close|');
    const callerGot = readAll(r.caller);
    pair.close(Buffer.from('GOODBYE'));
    pair.close(Buffer.from('twice is a no-op'));
    expect((await callerGot).toString()).toBe('GOODBYE');
    await machineEnded;
    await pair.done;
  });

  it('close: a caller answering the last bytes (a WebSocket close reply) is read and dropped, never reset', async () => {
    const r = await rig();
    const pair = join(r);
    const atMachine = readAll(r.machine);
    const errors: Error[] = [];
    r.caller.on('error', (e) => errors.push(e));
    const callerGot = readBytes(r.caller, 7).then((b) => {
      r.caller.end('BYE-BACK'); // after the close frame, as a WebSocket client answers it
      return b.toString();
    });
    pair.close(Buffer.from('GOODBYE'));
    expect(await callerGot).toBe('GOODBYE');
    expect((await readAll(r.caller)).length).toBe(0);
    await once(r.caller, 'close');
    expect(errors).toEqual([]);
    expect((await atMachine).toString()).toBe('');
    await pair.done;
  });

  it('close without last bytes ends both sides', async () => {
    const r = await rig();
    const pair = join(r);
    const atMachine = readAll(r.machine);
    const atCaller = readAll(r.caller);
    pair.close();
    expect((await atCaller).length).toBe(0);
    expect((await atMachine).length).toBe(0);
    r.caller.end();
    await pair.done;
  });

  it('a caller that resets ends the pair; the machine sees the end of its stream', async () => {
    const r = await rig();
    const pair = join(r);
    r.caller.write('x');
    await readBytes(r.machine, 1);
    r.caller.resetAndDestroy();
    expect((await readAll(r.machine)).length).toBe(0);
    await pair.done;
  });

  it('refuses sockets it cannot take, leaving them as they were', async () => {
    const r = await rig();
    r.machineSide.cork();
    r.machineSide.write('queued');
    expect(joinOnRelay(r.callerSide, r.machineSide)).toBe('writes still queued');
    expect(r.callerSide.destroyed || r.machineSide.destroyed).toBe(false);
    r.machineSide.uncork();
    expect((await readBytes(r.machine, 6)).toString()).toBe('queued');
    r.callerSide.destroy();
    expect(joinOnRelay(r.callerSide, r.machineSide)).toBe('already closing');
  });
});

describe('relayAvailability', () => {
  const availabilityWith = async (env: NodeJS.ProcessEnv) => {
    const script = `import { relayAvailability } from '@kk/relay'; console.log(JSON.stringify(relayAvailability()));`;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, KK_NATIVE_RELAY: undefined, KK_RELAY_SPIN_US: undefined, ...env },
    });
    return JSON.parse(stdout) as unknown;
  };

  it('is on by default, polling 100 µs after traffic; KK_RELAY_SPIN_US changes that, KK_NATIVE_RELAY=0 turns it off', async () => {
    expect(await availabilityWith({})).toEqual({ available: true, spinMicros: 100 });
    expect(await availabilityWith({ KK_RELAY_SPIN_US: '0' })).toEqual({ available: true, spinMicros: 0 });
    expect(await availabilityWith({ KK_NATIVE_RELAY: '0' })).toEqual({
      available: false,
      reason: 'turned off by KK_NATIVE_RELAY=0',
    });
  });

  it('refuses a spin that is not a whole number of microseconds up to 10 ms, saying so', async () => {
    for (const bad of ['-1', 'fast', '1.5', '20000'])
      expect(await availabilityWith({ KK_RELAY_SPIN_US: bad })).toEqual({
        available: false,
        reason: `KK_RELAY_SPIN_US must be a whole number of microseconds from 0 to 10000, not "${bad}"`,
      });
  });
});
