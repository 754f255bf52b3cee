import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ErrorCode } from '../errors.js';
import { ClientTerminal, testManager as manager, RecordingSink, screenText } from './test-helpers.js';

const utf8Splitter = join(import.meta.dirname, 'fixtures', 'utf8-split.mjs');

describe('TerminalManager: viewers', () => {
  it('sends the same output to several viewers and refuses input from a read-only one', async () => {
    const m = manager();
    const s = m.create({ owner: 'alice', cols: 80, rows: 24 });
    const sinks = [new RecordingSink(), new RecordingSink(), new RecordingSink()];
    const [writer, , reader] = sinks.map((sink, i) => m.attach(s.id, sink, i === 2));
    expect(m.list()[0]!.viewers).toBe(3);

    expect(() => m.input(s.id, reader!, 'echo nope\r')).toThrow(
      expect.objectContaining({ code: ErrorCode.Forbidden }),
    );
    m.input(s.id, writer!, 'echo "$((6*7))-answer"\r');
    for (const sink of sinks) await sink.until((x) => x.output().includes('42-answer'));
    m.input(s.id, writer!, 'exit 5\r');
    for (const sink of sinks) expect(await sink.ended).toEqual({ reason: 'exit', exitCode: 5, signal: null });
    expect(sinks[0]!.output().replace(/^.*?echo/s, '')).toBe(sinks[2]!.output().replace(/^.*?echo/s, ''));
    expect(sinks[2]!.output()).not.toContain('nope');
  });

  it('delivers a large output completely before the exit code', async () => {
    const m = manager();
    const s = m.create({
      owner: 'alice',
      args: ['-c', 'head -c 200000 /dev/urandom | base64; exit 3'],
      cols: 80,
      rows: 24,
    });
    const sink = new RecordingSink();
    m.attach(s.id, sink, true);
    expect(await sink.ended).toEqual({ reason: 'exit', exitCode: 3, signal: null });
    const lines = sink.output().split('\r\n');
    expect(lines.pop()).toBe('');
    expect(Buffer.from(lines.join(''), 'base64').length).toBe(200000);
    expect(m.list()).toEqual([]);
  });

  it('never splits a UTF-8 character across messages, even when the program writes it byte by byte', async () => {
    const m = manager();
    const s = m.create({ owner: 'alice', shell: process.execPath, args: [utf8Splitter], cols: 80, rows: 24 });
    const sink = new RecordingSink();
    m.attach(s.id, sink, true);
    expect(await sink.ended).toMatchObject({ reason: 'exit', exitCode: 0 });
    const outputs = sink.events.flatMap((e) => (e.type === 'output' ? [e.data] : []));
    expect(outputs.length).toBeGreaterThan(0);
    for (const data of outputs) {
      expect(data).not.toContain('\ufffd');
      expect(data).toBe(Buffer.from(data, 'utf8').toString('utf8'));
    }
    expect(outputs.join('')).toBe('漢字 ✓ 🎉 ünï\r\n'.repeat(3));
  });

  it('detach ends one stream and leaves the session running', async () => {
    const m = manager();
    const s = m.create({ owner: 'alice', cols: 80, rows: 24 });
    const sink = new RecordingSink();
    const v = m.attach(s.id, sink, false);
    v.endNow({ reason: 'detached' });
    expect(await sink.ended).toEqual({ reason: 'detached' });
    expect(m.list()).toMatchObject([{ id: s.id, viewers: 0 }]);
    expect(() => m.input(s.id, v, 'x')).toThrow(expect.objectContaining({ code: ErrorCode.InvalidState }));
  });
});

describe('TerminalManager: shell start', () => {
  it('starts bash without its rc files unless a login shell is asked for, with TERM=xterm-256color', async () => {
    const home = mkdtempSync(join(tmpdir(), 'kk-home-'));
    writeFileSync(join(home, '.bashrc'), 'echo RC-WAS-READ\n');
    writeFileSync(join(home, '.bash_profile'), 'echo PROFILE-WAS-READ\n');
    const m = manager({ shell: '/bin/bash', home });
    const run = async (login: boolean) => {
      const s = m.create({ owner: 'alice', login, env: { HOME: home, PS1: '$ ' }, cols: 80, rows: 24 });
      const sink = new RecordingSink();
      const v = m.attach(s.id, sink, false);
      m.input(s.id, v, 'echo "term=$TERM cwd=$PWD secret=[$KLIENT_TEST_SECRET]"; exit\r');
      await sink.ended;
      return sink.output();
    };
    // Klient's own settings (they may name credentials) never reach a user's shell.
    process.env.KLIENT_TEST_SECRET = 'kite-key-path';
    const plain = await run(false).finally(() => delete process.env.KLIENT_TEST_SECRET);
    expect(plain).toContain(`term=xterm-256color cwd=${home} secret=[]`);
    expect(plain).not.toContain('RC-WAS-READ');
    expect(plain).not.toContain('PROFILE-WAS-READ');
    expect(await run(true)).toContain('PROFILE-WAS-READ');
  });
});

describe('TerminalManager: resize', () => {
  it('applies a burst of resizes once, with the last size, in order with the output', async () => {
    const m = manager();
    const s = m.create({ owner: 'alice', cols: 80, rows: 24 });
    const sink = new RecordingSink();
    const v = m.attach(s.id, sink, false);
    for (let i = 0; i < 50; i++) m.resize(s.id, v, 60 + i, 20 + (i % 10));
    m.resize(s.id, v, 100, 40);
    await sink.until((x) => x.events.some((e) => e.type === 'resize'));
    m.input(s.id, v, 'stty size\r');
    await sink.until((x) => x.output().includes('40 100'));
    expect(sink.events.filter((e) => e.type === 'resize')).toEqual([{ type: 'resize', cols: 100, rows: 40 }]);
    expect(m.list()[0]).toMatchObject({ cols: 100, rows: 40 });
  });
});

describe('TerminalManager: limits', () => {
  it('refuses a session past the per-user cap, counting each user separately', () => {
    const m = manager({ maxSessionsPerUser: 2 });
    const a1 = m.create({ owner: 'alice', cols: 80, rows: 24 });
    m.create({ owner: 'alice', cols: 80, rows: 24 });
    expect(() => m.create({ owner: 'alice', cols: 80, rows: 24 })).toThrow(
      expect.objectContaining({ code: ErrorCode.RateLimited }),
    );
    expect(m.list()).toHaveLength(2);
    m.create({ owner: 'bob', cols: 80, rows: 24 });
    m.get(a1.id).terminate({ reason: 'shutdown' });
    m.create({ owner: 'alice', cols: 80, rows: 24 });
    expect(m.list().filter((x) => x.owner === 'alice')).toHaveLength(2);
  });

  it('refuses a missing shell or working directory with a clear error and starts nothing', () => {
    const m = manager();
    expect(() => m.create({ owner: 'a', shell: '/nonexistent/shell', cols: 80, rows: 24 })).toThrow(
      expect.objectContaining({
        code: ErrorCode.NotFound,
        message: expect.stringContaining('/nonexistent/shell'),
      }),
    );
    expect(() => m.create({ owner: 'a', cwd: '/nonexistent/dir', cols: 80, rows: 24 })).toThrow(
      expect.objectContaining({
        code: ErrorCode.NotFound,
        message: expect.stringContaining('/nonexistent/dir'),
      }),
    );
    expect(m.list()).toEqual([]);
  });

  it('reaps sessions nobody watches once idle, and keeps watched ones', async () => {
    const m = manager({ idleReapMs: 300 });
    const idle = m.create({ owner: 'alice', cols: 80, rows: 24 });
    const watched = m.create({ owner: 'alice', cols: 80, rows: 24 });
    const sink = new RecordingSink();
    m.attach(watched.id, sink, true);
    await vi.waitFor(() => expect(m.list().map((x) => x.id)).toEqual([watched.id]), { timeout: 10_000 });
    expect(() => m.get(idle.id)).toThrow(expect.objectContaining({ code: ErrorCode.NotFound }));
  });
});

describe('TerminalManager: flow control', () => {
  it('pauses the PTY while its only viewer stops reading, and resumes without losing a byte', async () => {
    const m = manager();
    const s = m.create({ owner: 'alice', args: ['-c', 'seq 1 200000; exit 0'], cols: 80, rows: 24 });
    const sink = new RecordingSink();
    sink.stall();
    const v = m.attach(s.id, sink, true);
    const session = m.get(s.id);
    await vi.waitFor(() => expect(session.flowPaused).toBe(true), { timeout: 10_000 });
    sink.unstall();
    expect(await sink.ended).toEqual({ reason: 'exit', exitCode: 0, signal: null });
    expect(v.resyncCount).toBe(0);
    const expected = `${Array.from({ length: 200000 }, (_, i) => i + 1).join('\r\n')}\r\n`;
    expect(sink.output() === expected).toBe(true);
  });

  it('once a stalled viewer was dropped, a second viewer that falls behind pauses the program instead of being dropped too', async () => {
    const m = manager({ viewer: { batchChars: 16 * 1024, pauseChars: 32 * 1024, dropChars: 128 * 1024 } });
    const s = m.create({ owner: 'alice', args: ['-c', 'exec yes'], cols: 80, rows: 24 });
    const session = m.get(s.id);
    const frozen = new RecordingSink();
    frozen.stall();
    const reader = new RecordingSink();
    const fv = m.attach(s.id, frozen, true);
    const rv = m.attach(s.id, reader, true);
    await vi.waitFor(() => expect(fv.resyncCount).toBeGreaterThan(0), { timeout: 10_000 });
    reader.stall();
    await vi.waitFor(() => expect(session.flowPaused).toBe(true), { timeout: 10_000 });
    expect(rv.resyncCount).toBe(0);
    reader.unstall();
    const before = reader.output().length;
    await reader.until((x) => x.output().length > before + 256 * 1024);
    expect(reader.events.filter((e) => e.type === 'screen')).toHaveLength(1);
    const text = reader.output();
    expect(text.slice(text.indexOf('y\r\n'), text.lastIndexOf('y\r\n'))).toMatch(/^(y\r\n)+$/);
  });

  it('drops a stalled viewer to a fresh screen while another keeps up, without holding the other back', async () => {
    const m = manager({ viewer: { batchChars: 16 * 1024, pauseChars: 32 * 1024, dropChars: 128 * 1024 } });
    const s = m.create({ owner: 'alice', args: ['-c', 'seq 1 60000; read x; exit 0'], cols: 80, rows: 24 });
    const fast = new RecordingSink();
    const slow = new RecordingSink();
    slow.stall();
    const fv = m.attach(s.id, fast, false);
    const sv = m.attach(s.id, slow, true);
    await fast.until((x) => x.output().includes('\r\n60000\r\n'));
    expect(sv.resyncCount).toBeGreaterThan(0);
    slow.unstall();
    await slow.until((x) => x.events.length > 1 && x.events.at(-1)!.type === 'screen');
    const screens = slow.events.filter((e) => e.type === 'screen');
    expect(screens.length).toBeGreaterThanOrEqual(2);
    const last = new ClientTerminal().applyAll(slow.events);
    await last.settled();
    expect(screenText(last.term).join('\n')).toContain('60000');
    m.input(s.id, fv, '\r');
    expect(await slow.ended).toEqual({ reason: 'exit', exitCode: 0, signal: null });
  });
});
