import { describe, expect, it } from 'vitest';
import { DetachKey, ESCAPE } from './detach-key.js';

describe('DetachKey', () => {
  it('passes ordinary input through', () => {
    expect(new DetachKey().feed('ls -la\r')).toEqual([{ type: 'input', data: 'ls -la\r' }]);
  });

  it('detaches on Ctrl-] d, after sending what came before', () => {
    expect(new DetachKey().feed(`echo${ESCAPE}d`)).toEqual([
      { type: 'input', data: 'echo' },
      { type: 'detach' },
    ]);
  });

  it('recognises the sequence split across reads', () => {
    const key = new DetachKey();
    expect(key.feed(ESCAPE)).toEqual([]);
    expect(key.feed('d')).toEqual([{ type: 'detach' }]);
  });

  it('sends a literal Ctrl-] for Ctrl-] Ctrl-], and both keys for Ctrl-] x', () => {
    expect(new DetachKey().feed(`${ESCAPE}${ESCAPE}`)).toEqual([{ type: 'input', data: ESCAPE }]);
    expect(new DetachKey().feed(`${ESCAPE}x`)).toEqual([{ type: 'input', data: `${ESCAPE}x` }]);
  });
});
