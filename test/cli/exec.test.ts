/** `kd exec` against a real Klient over a real WebSocket, addressed directly with an access token. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKlient, type TestKlient } from '../../packages/klient/src/testing/harness.js';
import { kd } from './kd.js';

let klient: TestKlient;
let token: string;
const run = (args: string[], options: Parameters<typeof kd>[1] = {}) =>
  kd(['exec', klient.klient.url, '--token', token, ...args], options);

beforeAll(async () => {
  klient = await startTestKlient();
  token = await klient.token('owner');
});
afterAll(async () => {
  await klient?.close();
});

describe('kd exec', () => {
  it('passes stdout and stderr to the right streams and exits with the remote code', async () => {
    const r = await run(['--', 'echo out; echo err >&2; exit 7']);
    expect(r.stdout.toString()).toBe('out\n');
    expect(r.stderr).toBe('err\n');
    expect(r.code).toBe(7);
  });

  it('runs several arguments as argv without a shell', async () => {
    const r = await run(['--', 'printf', '%s|', 'a b', '$HOME']);
    expect(r.stdout.toString()).toBe('a b|$HOME|');
    expect(r.code).toBe(0);
  });

  it('pipes stdin, binary and large, to the remote process', async () => {
    const input = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < input.length; i++) input[i] = (i * 31 + (i >> 9)) & 0xff;
    const r = await run(['--', 'cat'], { stdin: input });
    expect(r.code).toBe(0);
    expect(Buffer.compare(r.stdout, input)).toBe(0);
  });

  it('reports a signal as 128 + its number', async () => {
    const r = await run(['--', 'kill -TERM $$']);
    expect(r.code).toBe(143);
  });

  it('Ctrl-C sends SIGINT to the remote process group and exits 130', async () => {
    const r = await run(['--', 'echo started; sleep 60 | cat'], {
      onSpawn: (child) => {
        child.stdout!.once('data', () => child.kill('SIGINT'));
      },
    });
    expect(r.stdout.toString()).toBe('started\n');
    expect(r.code).toBe(130);
    // Both sides of the pipeline were in the group: nothing of it is left running.
    const client = await klient.connect();
    expect((await client.call('exec.list', {})).processes).toEqual([]);
  });

  it('a second Ctrl-C kills a process that ignores SIGINT', async () => {
    const r = await run(['--', "trap '' INT; echo started; sleep 60"], {
      onSpawn: (child) => {
        child.stdout!.once('data', () => child.kill('SIGINT'));
        // The second Ctrl-C after kd said the first one was delivered.
        child.stderr!.on('data', (text: string) => {
          if (text.includes('Ctrl-C again')) child.kill('SIGINT');
        });
      },
    });
    expect(r.code).toBe(137);
  });

  it('exits 255 with a clear message when kd itself fails', async () => {
    const r = await kd(['exec', klient.klient.url, '--token', 'not-a-token', '--', 'true']);
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/^kd: cannot connect to ws:\/\/.*/);
    const noToken = await kd(['exec', klient.klient.url, '--', 'true'], { env: { KD_MACHINE_TOKEN: '' } });
    expect(noToken.code).toBe(255);
    expect(noToken.stderr).toContain('--token');
  });

  it('ends quietly with 141 when its stdout reader goes away, and the remote process ends too', async () => {
    const r = await run(['--', 'yes'], {
      onSpawn: (child) => {
        child.stdout!.once('data', () => child.stdout!.destroy());
      },
    });
    expect(r.code).toBe(141);
    expect(r.stderr).toBe('');
    const client = await klient.connect();
    await expect
      .poll(async () => (await client.call('exec.list', {})).processes, { timeout: 30_000 })
      .toEqual([]);
  });

  it('a command line error exits 2 and sends nothing', async () => {
    const r = await kd(['exec', klient.klient.url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("missing required argument 'command'");
    expect((await kd(['no-such-command'])).code).toBe(2);
  });

  it('a missing program exits 127 like a shell', async () => {
    const r = await run(['--', 'no-such-program-xyz', 'a']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('no-such-program-xyz');
  });
});
