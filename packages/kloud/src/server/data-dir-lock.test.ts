import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lockDataDir } from './data-dir-lock.js';

const root = mkdtempSync(join(tmpdir(), 'kloud-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('lockDataDir', () => {
  it('lets one process hold a data directory, refuses a live other Kloud, takes over a dead or unrelated pid', async () => {
    const dir = join(root, 'data');
    const unlock = await lockDataDir(dir);
    expect(readFileSync(join(dir, 'kloud.pid'), 'utf8').trim()).toBe(String(process.pid));
    await unlock();
    expect(existsSync(join(dir, 'kloud.pid'))).toBe(false);

    // A pid now used by some other program does not hold the directory.
    const stranger = spawn('sleep', ['60'], { stdio: 'ignore' });
    await new Promise((r) => stranger.once('spawn', r));
    writeFileSync(join(dir, 'kloud.pid'), `${stranger.pid}\n`);
    await (await lockDataDir(dir))();
    stranger.kill('SIGKILL');

    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    await new Promise((r) => other.once('spawn', r));
    writeFileSync(join(dir, 'kloud.pid'), `${other.pid}\n`);
    await expect(lockDataDir(dir)).rejects.toMatchObject({
      kind: 'Conflict',
      message: expect.stringContaining(`pid ${other.pid}`),
    });

    other.kill('SIGKILL');
    await new Promise((r) => other.once('exit', r));
    const again = await lockDataDir(dir);
    expect(readFileSync(join(dir, 'kloud.pid'), 'utf8').trim()).toBe(String(process.pid));
    await again();
  });
});
