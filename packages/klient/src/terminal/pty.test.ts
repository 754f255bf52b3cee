import { describe, expect, it } from 'vitest';
import { Pty, type PtyExit } from './pty.js';

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'xterm-256color', LANG: 'C.UTF-8' };

function run(
  script: string,
  setup?: (pty: Pty) => void,
): Promise<{ out: string; exit: PtyExit; dataAfterExit: boolean }> {
  return new Promise((resolve) => {
    let out = '';
    let exited = false;
    let dataAfterExit = false;
    const pty = Pty.spawn(
      { file: '/bin/sh', args: ['-c', script], cwd: '/', env, cols: 80, rows: 24 },
      {
        onData: (d) => {
          if (exited) dataAfterExit = true;
          out += d;
        },
        onExit: (exit) => {
          exited = true;
          // Let anything that would (wrongly) still arrive show up before we answer.
          setImmediate(() => resolve({ out, exit, dataAfterExit }));
        },
      },
    );
    setup?.(pty);
  });
}

describe('Pty', () => {
  it('reports the exit code only after the whole output has been read, every time', async () => {
    // seq's output is known exactly; the tty turns each \n into \r\n.
    const expected = `${Array.from({ length: 30000 }, (_, i) => String(i + 1)).join('\r\n')}\r\n`;
    for (let i = 0; i < 8; i++) {
      const { out, exit, dataAfterExit } = await run('seq 1 30000; exit 3');
      expect(out.length).toBe(expected.length);
      expect(out === expected).toBe(true);
      expect(exit).toEqual({ exitCode: 3, signal: null });
      expect(dataAfterExit).toBe(false);
    }
  });

  it('delivers random output of 200000 bytes in base64 completely, then exit 3', async () => {
    const { out, exit } = await run('head -c 200000 /dev/urandom | base64; exit 3');
    const lines = out.split('\r\n');
    expect(lines.pop()).toBe('');
    expect(lines.join('')).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(lines.join(''), 'base64').length).toBe(200000);
    expect(exit.exitCode).toBe(3);
  });

  it('keeps the output of a child that exits while reading is paused', async () => {
    let pty: Pty | undefined;
    const marker = `done-${process.pid}-${Date.now()}`;
    const result = run(`printf 'a%.0s' $(seq 1 2000); echo ${marker}; exit 4`, (p) => {
      pty = p;
      p.pause('test');
    });
    // Long enough for node-pty's own 200 ms socket teardown to have fired had it been armed.
    await new Promise((r) => setTimeout(r, 600));
    pty!.resume('test');
    const { out, exit } = await result;
    expect(out).toBe(`${'a'.repeat(2000)}${marker}\r\n`);
    expect(exit.exitCode).toBe(4);
  });

  it('reports a signal death by name', async () => {
    const { exit } = await run('kill -TERM $$');
    expect(exit).toEqual({ exitCode: null, signal: 'SIGTERM' });
  });

  it('hangup ends an interactive shell through SIGHUP from the kernel', async () => {
    const exit = await new Promise<PtyExit>((resolve) => {
      const pty = Pty.spawn(
        { file: '/bin/sh', args: [], cwd: '/', env, cols: 80, rows: 24 },
        {
          // Hang up once the shell is reading (its prompt is out), not while it is still starting.
          onData: () => pty.hangup(),
          onExit: resolve,
        },
      );
    });
    expect(exit.signal).toBe('SIGHUP');
  });
});
