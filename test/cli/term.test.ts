/**
 * `kd term` in a real pseudo-terminal (node-pty) against a real Klient: it starts a session,
 * passes keys and output, detaches on Ctrl-] d leaving the session running, reattaches to it
 * by name with the same screen, lists sessions, and exits with the shell's code.
 */
import { spawn as spawnPty } from 'node-pty';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKlient, type TestKlient } from '../../packages/klient/src/testing/harness.js';
import { KD, kd } from './kd.js';

let klient: TestKlient;
let token: string;

beforeAll(async () => {
  klient = await startTestKlient();
  token = await klient.token('owner');
});
afterAll(async () => {
  await klient?.close();
});

/** kd in a PTY; `until` resolves once its output contains a text. */
function kdInPty(args: string[]) {
  const pty = spawnPty(process.execPath, [KD, ...args], {
    cols: 100,
    rows: 30,
    env: { ...process.env, TERM: 'xterm-256color' } as Record<string, string>,
  });
  let output = '';
  const waiters: Array<() => void> = [];
  pty.onData((data) => {
    output += data;
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise<number>((resolve) => pty.onExit(({ exitCode }) => resolve(exitCode)));
  const until = async (text: string | ((output: string) => boolean)) => {
    const seen = () => (typeof text === 'string' ? output.includes(text) : text(output));
    while (!seen()) await new Promise<void>((resolve) => waiters.push(resolve));
    return output;
  };
  return { pty, until, exited, output: () => output };
}

describe('kd term', () => {
  it('runs an interactive session, detaches with Ctrl-] d, and reattaches to the same screen by name', async () => {
    const first = kdInPty(['term', klient.klient.url, '--token', token, '--name', 'work']);
    // The shell's prompt (root's or a user's); escape sequences may follow it.
    await first.until((o) => o.includes('# ') || o.includes('$ '));
    first.pty.write('echo term-$((6*7))\r');
    await first.until('term-42');
    first.pty.write('\x1dd');
    await first.until('[detached from');
    expect(await first.exited).toBe(0);

    const listed = await kd(['term', klient.klient.url, '--token', token, '--list', '--json']);
    const sessions = JSON.parse(listed.stdout.toString()) as Array<{ name: string; viewers: number }>;
    expect(sessions).toEqual([expect.objectContaining({ name: 'work', viewers: 0 })]);

    // A read-only token may watch it (the same screen), and its keys go nowhere.
    const readonlyToken = await klient.token('readonly');
    const watcher = kdInPty([
      'term',
      klient.klient.url,
      '--token',
      readonlyToken,
      '--readonly',
      '--session',
      'work',
    ]);
    await watcher.until('term-42');
    watcher.pty.write('echo typed-by-watcher\r');
    watcher.pty.write('\x1dd');
    await watcher.until('[detached from');
    expect(await watcher.exited).toBe(0);

    const again = kdInPty(['term', klient.klient.url, '--token', token, '--session', 'work']);
    // The screen comes back from Klient before anything is typed.
    await again.until('term-42');
    expect(again.output()).not.toContain('typed-by-watcher');
    again.pty.write('exit 4\r');
    expect(await again.exited).toBe(4);
  }, 60_000);

  it('refuses to run without a terminal, pointing at kd exec', async () => {
    const r = await kd(['term', klient.klient.url, '--token', token]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('kd exec');
  });
});
