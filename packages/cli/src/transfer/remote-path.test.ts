import { describe, expect, it } from 'vitest';
import { parseRemote } from './remote-path.js';

describe('parseRemote', () => {
  it('splits MACHINE:PATH on the first colon of a name', () => {
    expect(parseRemote('dev-1:/tmp/x')).toEqual({ machine: 'dev-1', path: '/tmp/x' });
    expect(parseRemote('dev-1:notes/a:b.txt')).toEqual({ machine: 'dev-1', path: 'notes/a:b.txt' });
    expect(parseRemote('dev-1:')).toEqual({ machine: 'dev-1', path: '' });
  });

  it('keeps the port of a Klient URL in the machine', () => {
    expect(parseRemote('ws://127.0.0.1:4000:/tmp/x')).toEqual({
      machine: 'ws://127.0.0.1:4000',
      path: '/tmp/x',
    });
    expect(parseRemote('ws://127.0.0.1:4000')).toEqual({ machine: 'ws://127.0.0.1:4000', path: '' });
    expect(parseRemote('ws://host:/tmp')).toEqual({ machine: 'ws://host', path: '/tmp' });
    expect(parseRemote('wss://[::1]:4000/machines/m1/klient:a.txt')).toEqual({
      machine: 'wss://[::1]:4000/machines/m1/klient',
      path: 'a.txt',
    });
  });

  it('treats paths without a machine prefix as local', () => {
    expect(parseRemote('/tmp/x')).toBeUndefined();
    expect(parseRemote('./a:b')).toBeUndefined();
    expect(parseRemote('file.txt')).toBeUndefined();
    expect(parseRemote('-')).toBeUndefined();
  });
});
