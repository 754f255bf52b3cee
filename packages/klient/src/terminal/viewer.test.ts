import { describe, expect, it } from 'vitest';
import { ScreenModel } from './screen.js';
import { ClientTerminal, describeTerminal, RecordingSink } from './test-helpers.js';
import { Viewer } from './viewer.js';

const limits = { batchChars: 64 * 1024, pauseChars: 128 * 1024, dropChars: 64 * 1024 * 1024 };

/** A model and its viewers wired as TerminalSession wires them, fed by the test instead of a PTY. */
function setup() {
  const model = new ScreenModel({
    cols: 80,
    rows: 24,
    scrollback: 1000,
    backlogBytes: 1 << 30,
    onBacklog: () => {},
  });
  const viewers = new Set<Viewer>();
  const all: string[] = [];
  const feed = (data: string) => {
    all.push(data);
    model.write(data);
    for (const v of viewers) v.pushOutput(data);
  };
  const attach = (sink: RecordingSink) => {
    const v = new Viewer(sink, true, limits, {
      snapshot: () => model.snapshot(),
      onBacklogChange: () => {},
      onClosed: (x) => viewers.delete(x),
    });
    viewers.add(v);
    v.start();
    return v;
  };
  return { model, feed, attach, all };
}

const lines = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `\x1b[3${(from + i) % 8}mline ${from + i}\x1b[0m\r\n`).join(
    '',
  );

describe('Viewer with ScreenModel', () => {
  it('starts the stream exactly where the screen stops, even while the model is far behind', async () => {
    const { model, feed, attach, all } = setup();
    // Far more than xterm parses in one slice, so the snapshot waits across several turns of the
    // event loop while more output keeps arriving.
    feed(lines(1, 20000));
    const before = all.length;
    const sink = new RecordingSink();
    attach(sink);
    // Output that arrives before the model has parsed up to the viewer's snapshot point.
    feed(lines(20001, 20100));
    for (let i = 1; i < 20; i++) {
      feed(lines(20001 + i * 100, 20100 + i * 100));
      await new Promise((r) => setImmediate(r));
    }
    await sink.until((x) => x.output().endsWith('line 22000\x1b[0m\r\n'));
    expect(sink.events[0]!.type).toBe('screen');
    // Everything fed after the attach, and nothing fed before it, is in the stream.
    expect(sink.output() === all.slice(before).join('')).toBe(true);

    const reference = new ClientTerminal();
    reference.term.options.scrollback = 1000;
    reference.apply({ type: 'output', data: all.join('') });
    const rebuilt = new ClientTerminal();
    rebuilt.term.options.scrollback = 1000;
    rebuilt.applyAll(sink.events);
    await Promise.all([reference.settled(), rebuilt.settled()]);
    expect(describeTerminal(rebuilt.term)).toEqual(describeTerminal(reference.term));
    model.dispose();
  });

  it('ends after the queued output, and a stalled viewer gets a fresh screen instead of its dropped backlog', async () => {
    const { model, feed, attach } = setup();
    const sink = new RecordingSink();
    sink.stall();
    const small = { ...limits, pauseChars: 1000, dropChars: 5000 };
    const v = new Viewer(sink, true, small, {
      snapshot: () => model.snapshot(),
      onBacklogChange: () => {},
      onClosed: () => {},
    });
    v.start();
    const ok = new RecordingSink();
    attach(ok);
    for (let i = 1; i <= 2000; i++) {
      const data = `row ${i}\r\n`;
      feed(data);
      v.pushOutput(data);
    }
    expect(v.resyncCount).toBeGreaterThan(0);
    v.endAfterQueue({ reason: 'exit', exitCode: 0, signal: null });
    sink.unstall();
    expect(await sink.ended).toEqual({ reason: 'exit', exitCode: 0, signal: null });
    const types = sink.events.map((e) => e.type);
    expect(types.at(-1)).toBe('screen');
    const client = new ClientTerminal().applyAll(sink.events);
    await client.settled();
    expect(
      client.term.buffer.active.getLine(client.term.buffer.active.baseY + 22)?.translateToString(true),
    ).toBe('row 2000');
    model.dispose();
  });
});
