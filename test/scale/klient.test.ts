/**
 * One Klient holding 200 concurrent terminal sessions and 1,000 watched directories, all live
 * at once (issue [7/7]). Latency and memory at this scale are measured by `npm run bench -- scale`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestKlient, type TestKlient } from '@kk/klient/testing/harness.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SESSIONS = 200;
const WATCHES = 1000;

let klient: TestKlient;
beforeAll(async () => {
  klient = await startTestKlient({
    maxWatchesPerConnection: WATCHES,
    terminal: { shell: '/bin/sh', maxSessionsPerUser: SESSIONS },
  } as never);
});
afterAll(async () => klient?.close());

describe('one Klient at scale', () => {
  it(`runs ${SESSIONS} terminal sessions at once, each answering its own input`, {
    timeout: 120_000,
  }, async () => {
    const client = await klient.connect('owner');
    const sessions = [];
    for (let i = 0; i < SESSIONS; i++) {
      sessions.push(
        await client.call('terminal.create', { shell: '/bin/sh', cols: 80, rows: 24, name: `s${i}` }),
      );
    }
    expect((await client.call('terminal.list', {})).sessions).toHaveLength(SESSIONS);
    const outputs = await Promise.all(
      sessions.map(async (session, i) => {
        const attached = await client.call('terminal.attach', { sessionId: session.id });
        const reader = client.openReader(attached.streamId);
        await client.call('terminal.input', { sessionId: session.id, data: `echo mark-$((${i}*3))\r` });
        let seen = '';
        for await (const chunk of reader) {
          seen += typeof chunk === 'string' ? chunk : JSON.stringify(chunk);
          if (seen.includes(`mark-${i * 3}`)) break;
        }
        return seen;
      }),
    );
    for (const [i, seen] of outputs.entries()) expect(seen).toContain(`mark-${i * 3}`);
    for (const session of sessions) await client.call('terminal.kill', { sessionId: session.id });
  });

  it(`watches ${WATCHES} directories at once and reports a change in each`, {
    timeout: 120_000,
  }, async () => {
    const client = await klient.connect('owner');
    const dirs = Array.from({ length: WATCHES }, (_, i) => join('watched', `d${i}`));
    for (const dir of dirs) await mkdir(join(klient.home, dir), { recursive: true });
    const readers = [];
    for (const dir of dirs) {
      const answer = await client.call('fs.readDirectory', { path: dir, watch: true });
      expect(answer.watchId).toBeDefined();
      readers.push(client.openReader(answer.watchId!));
    }
    const seen = readers.map(async (reader, i) => {
      for await (const event of reader) {
        if (JSON.stringify(event).includes(`new-${i}.txt`)) return true;
      }
      return false;
    });
    for (let i = 0; i < WATCHES; i++) await writeFile(join(klient.home, dirs[i]!, `new-${i}.txt`), 'x');
    expect((await Promise.all(seen)).every(Boolean)).toBe(true);
  });
});
