import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import {
  ClientTerminal,
  testManager as manager,
  RecordingSink,
  screenText,
  settledDescription,
} from './test-helpers.js';

const fullscreen = join(import.meta.dirname, 'fixtures', 'fullscreen.mjs');

function endsWith(text: string) {
  return (sink: RecordingSink) => sink.output().endsWith(text);
}

describe('TerminalManager: reattach rebuilds the screen from the model', () => {
  it('a viewer attaching to a running full-screen program sees exactly what a viewer that watched from the start sees', async () => {
    const m = manager();
    const s = m.create({ owner: 'alice', shell: process.execPath, args: [fullscreen], cols: 80, rows: 24 });
    const watcher = new RecordingSink();
    const w = m.attach(s.id, watcher, false);
    await watcher.until(endsWith('\x1b[12;40H\x1b(0'));

    const late = new RecordingSink();
    m.attach(s.id, late, true);
    await late.until((sink) => sink.events.length > 0);
    expect(late.events[0]!.type).toBe('screen');

    const reference = new ClientTerminal().applyAll(watcher.events);
    const rebuilt = new ClientTerminal().applyAll(late.events);
    const want = await settledDescription(reference);
    expect(want.active).toBe('alternate');
    expect(want.cursorHidden).toBe(true);
    expect(screenText(reference.term)[23]).toContain('READY');
    expect(await settledDescription(rebuilt)).toEqual(want);

    // The live stream continues exactly where the screen stopped: scrolling inside the region
    // only looks right if nothing was lost or repeated.
    m.input(s.id, w, 'm');
    await watcher.until(endsWith('MORE5\x1b[12;40H'));
    await late.until(endsWith('MORE5\x1b[12;40H'));
    const reference2 = new ClientTerminal().applyAll(watcher.events);
    const rebuilt2 = new ClientTerminal().applyAll(late.events);
    const want2 = await settledDescription(reference2);
    expect(screenText(reference2.term).join('\n')).toContain('scrolled 5');
    expect(screenText(reference2.term)[22]).toBe('┌───┐');
    expect(await settledDescription(rebuilt2)).toEqual(want2);

    m.input(s.id, w, 'q');
    expect(await late.ended).toEqual({ reason: 'exit', exitCode: 7, signal: null });
    expect(await watcher.ended).toEqual({ reason: 'exit', exitCode: 7, signal: null });
    expect(watcher.output()).toMatch(/bye\r+\n$/);
  });

  it('attaching while output pours out loses and repeats nothing between the screen and the stream', async () => {
    const m = manager({ scrollback: 5000 });
    // All of it fits in the scrollback (5000 lines), so comparing buffers compares everything.
    const s = m.create({ owner: 'alice', args: ['-c', 'seq 1 2500; exit 0'], cols: 80, rows: 24 });
    const watcher = new RecordingSink();
    m.attach(s.id, watcher, true);
    // Several late viewers, each attaching at a different point while the model is busy parsing.
    const late: RecordingSink[] = [];
    for (const n of [600, 1200, 1800]) {
      await watcher.until((x) => x.output().includes(`\r\n${n}\r\n`));
      const sink = new RecordingSink();
      m.attach(s.id, sink, true);
      late.push(sink);
    }
    await Promise.all([watcher.ended, ...late.map((x) => x.ended)]);
    const reference = new ClientTerminal().applyAll(watcher.events);
    const want = await settledDescription(reference);
    expect(screenText(reference.term)[22]).toBe('2500');
    expect(reference.term.buffer.normal.getLine(0)?.translateToString(true)).toBe('1');
    for (const sink of late) {
      expect(sink.events[0]!.type).toBe('screen');
      // The late stream is an exact tail of the whole output...
      expect(watcher.output().endsWith(sink.output())).toBe(true);
      // ...and the screen before it holds exactly what came before that tail.
      const rebuilt = new ClientTerminal().applyAll(sink.events);
      expect(await settledDescription(rebuilt)).toEqual(want);
    }
  });

  it('reattaching to vi shows the same screen as a terminal fed the whole output', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kk-term-'));
    const file = join(dir, 'notes.txt');
    writeFileSync(
      file,
      Array.from({ length: 200 }, (_, i) => `line ${i + 1} ${'x'.repeat(i % 50)}`).join('\n'),
    );
    const m = manager();
    const s = m.create({
      owner: 'alice',
      shell: '/usr/bin/vim.tiny',
      args: ['-u', 'NONE', '-i', 'NONE', '-n', '-N', file],
      cols: 100,
      rows: 30,
    });
    const watcher = new RecordingSink();
    const w = m.attach(s.id, watcher, false);
    await watcher.until((sink) => sink.output().includes('line 20 '));

    const late = new RecordingSink();
    m.attach(s.id, late, true);
    // Move around so vi redraws parts of the screen after the late viewer's snapshot.
    m.input(s.id, w, 'G');
    m.input(s.id, w, ':set number\r');
    m.input(s.id, w, '50%');
    await watcher.until((sink) => sink.output().includes('line 10'));

    // Both converge on one screen once vi's output has arrived; a snapshot that lost or
    // repeated bytes would leave them different for good.
    await vi.waitFor(
      async () => {
        const reference = new ClientTerminal(100, 30).applyAll(watcher.events);
        const rebuilt = new ClientTerminal(100, 30).applyAll(late.events);
        const want = await settledDescription(reference);
        expect(want.active).toBe('alternate');
        expect(screenText(reference.term).join('\n')).toMatch(/\s100 line 100 /);
        expect(await settledDescription(rebuilt)).toEqual(want);
      },
      { timeout: 15_000, interval: 100 },
    );
    m.input(s.id, w, '\x1b:q!\r');
    expect(await watcher.ended).toMatchObject({ reason: 'exit', exitCode: 0 });
  });
});
