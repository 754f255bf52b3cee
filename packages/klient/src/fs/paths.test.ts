import { describe, expect, it } from 'vitest';
import { resolvePath } from './paths.js';

describe('resolvePath', () => {
  const home = '/home/alice';
  it.each([
    ['/etc/hosts', '/etc/hosts'],
    ['/etc/../var//log/', '/var/log'],
    ['notes.txt', '/home/alice/notes.txt'],
    ['./a/../b', '/home/alice/b'],
    ['~', '/home/alice'],
    ['~/x', '/home/alice/x'],
    ['~bob/x', '/home/alice/~bob/x'],
    ['../../..', '/'],
  ])('%s → %s', (input, expected) => {
    expect(resolvePath(home, input)).toBe(expected);
  });
});
