import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RpcClient } from '@kk/protocol/client/client.js';
import { ErrorCode } from '@kk/protocol/errors.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKlient, type TestKlient } from '../testing/harness.js';

let t: TestKlient;
let client: RpcClient;

beforeAll(async () => {
  t = await startTestKlient();
  client = await t.connect('user');
});
afterAll(() => t.close());

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function text(reader: AsyncIterable<unknown>): Promise<string> {
  let out = '';
  for await (const chunk of reader) out += Buffer.from(chunk as Uint8Array).toString('utf8');
  return out;
}

describe('exec.run', () => {
  it('runs a shell string with /bin/sh: stdout, stderr, exit code', async () => {
    const result = await client.call('exec.run', { command: 'echo out; echo err >&2; exit 7' });
    expect(result).toMatchObject({
      stdout: 'out\n',
      stderr: 'err\n',
      exitCode: 7,
      signal: null,
      timedOut: false,
    });
    expect((await client.call('exec.run', { command: 'readlink /proc/$$/exe' })).stdout.trim()).toMatch(
      /sh$|dash$/,
    );
  });

  it('runs argv with no shell: metacharacters are plain arguments', async () => {
    const result = await client.call('exec.run', { argv: ['echo', '$HOME; rm -rf /', '`id`'] });
    expect(result.stdout).toBe('$HOME; rm -rf / `id`\n');
  });

  it('takes cwd (relative to home), env and stdin', async () => {
    await mkdir(join(t.home, 'work'));
    const result = await client.call('exec.run', {
      command: 'pwd; echo "$GREETING"; cat',
      cwd: 'work',
      env: { GREETING: 'hi there' },
      stdin: 'from stdin',
    });
    expect(result.stdout).toBe(`${join(t.home, 'work')}\nhi there\nfrom stdin`);
    const cleared = await client.call('exec.run', {
      argv: ['/usr/bin/env'],
      clearEnv: true,
      env: { ONLY: '1' },
    });
    expect(cleared.stdout).toBe('ONLY=1\n');
    const binary = await client.call('exec.run', {
      argv: ['cat'],
      stdin: Buffer.from([0, 255, 1]).toString('base64'),
      stdinEncoding: 'base64',
      encoding: 'base64',
    });
    expect(Buffer.from(binary.stdout, 'base64')).toEqual(Buffer.from([0, 255, 1]));
  });

  it('caps output and flags it truncated, without blocking the process', async () => {
    const result = await client.call('exec.run', {
      command: 'head -c 1000000 /dev/zero; echo done >&2',
      maxOutputBytes: 1000,
    });
    expect(result).toMatchObject({
      stdoutTruncated: true,
      stderrTruncated: false,
      stderr: 'done\n',
      exitCode: 0,
    });
    expect(result.stdout.length).toBe(1000);
  });

  it('kills the whole process group on timeout', async () => {
    const pidFile = join(t.dir, 'grandchild.pid');
    const result = await client.call('exec.run', {
      command: `sleep 300 & echo $! > ${pidFile}; wait`,
      timeoutMs: 500,
    });
    expect(result).toMatchObject({ timedOut: true, exitCode: null, signal: 'SIGKILL' });
    const grandchild = Number(await readFile(pidFile, 'utf8'));
    await expect.poll(() => alive(grandchild), { timeout: 10_000 }).toBe(false);
  });

  it('refuses bad input clearly', async () => {
    await expect(client.call('exec.run', {})).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
      message: expect.stringContaining('exactly one of command'),
    });
    await expect(client.call('exec.run', { command: 'true', argv: ['true'] })).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
    });
    await expect(client.call('exec.run', { argv: [] })).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
    });
    await expect(client.call('exec.run', { argv: ['no-such-program-klient'] })).rejects.toMatchObject({
      code: ErrorCode.NotFound,
    });
    await expect(client.call('exec.run', { command: 'true', cwd: 'no/such/dir' })).rejects.toMatchObject({
      code: ErrorCode.NotFound,
      message: expect.stringContaining('cwd'),
    });
    await writeFile(join(t.home, 'afile'), '');
    await expect(client.call('exec.run', { command: 'true', cwd: 'afile' })).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
      message: expect.stringContaining('not a directory'),
    });
    await expect(client.call('exec.run', { command: 'true', timeoutMs: 0 })).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
    });
  });
});

describe('exec.start, write, kill, list', () => {
  it('streams stdout and stderr separately, then the exit', async () => {
    const started = await client.call('exec.start', { command: 'echo one; echo two >&2; exit 3' });
    const stdout = client.openReader(started.stdout);
    const stderr = client.openReader(started.stderr);
    const [out, err] = await Promise.all([text(stdout), text(stderr)]);
    expect(out).toBe('one\n');
    expect(err).toBe('two\n');
    expect(await stdout.done).toEqual({ exitCode: 3, signal: null, timedOut: false });
    expect(await stderr.done).toEqual({ exitCode: 3, signal: null, timedOut: false });
  });

  it('takes stdin with exec.write, and EOF with close', async () => {
    const started = await client.call('exec.start', { argv: ['cat'] });
    const stdout = client.openReader(started.stdout);
    client.openReader(started.stderr);
    expect(await client.call('exec.write', { id: started.id, data: 'hello ' })).toEqual({
      written: 6,
      closed: false,
    });
    expect(await client.call('exec.write', { id: started.id, data: 'world', close: true })).toEqual({
      written: 5,
      closed: true,
    });
    expect(await text(stdout)).toBe('hello world');
    expect(await stdout.done).toMatchObject({ exitCode: 0 });
    await expect(client.call('exec.write', { id: started.id, data: 'late' })).rejects.toMatchObject({
      code: ErrorCode.NotFound,
    });
  });

  it('lists running processes and kills the whole group', async () => {
    const pidFile = join(t.dir, 'group.pid');
    const started = await client.call('exec.start', { command: `sleep 300 & echo $! > ${pidFile}; wait` });
    const stdout = client.openReader(started.stdout);
    client.openReader(started.stderr);
    const { processes } = await client.call('exec.list', {});
    expect(processes.find((p) => p.id === started.id)).toMatchObject({ pid: started.pid, cwd: t.home });
    await expect.poll(() => readFile(pidFile, 'utf8').catch(() => ''), { timeout: 10_000 }).toMatch(/\d+/);
    const grandchild = Number(await readFile(pidFile, 'utf8'));
    expect(await client.call('exec.kill', { id: started.id })).toEqual({ signalled: true });
    expect(await stdout.done).toMatchObject({ exitCode: null, signal: 'SIGTERM' });
    await expect.poll(() => alive(grandchild), { timeout: 10_000 }).toBe(false);
    expect((await client.call('exec.list', {})).processes.some((p) => p.id === started.id)).toBe(false);
    await expect(client.call('exec.kill', { id: started.id })).rejects.toMatchObject({
      code: ErrorCode.NotFound,
    });
  });

  it('kills a started process group at its timeout', async () => {
    const started = await client.call('exec.start', { argv: ['sleep', '300'], timeoutMs: 300 });
    const stdout = client.openReader(started.stdout);
    client.openReader(started.stderr);
    await text(stdout);
    expect(await stdout.done).toEqual({ exitCode: null, signal: 'SIGKILL', timedOut: true });
  });

  it('refuses unknown signals and ids', async () => {
    const started = await client.call('exec.start', { argv: ['sleep', '300'] });
    await expect(client.call('exec.kill', { id: started.id, signal: 'SIGNOPE' })).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
    });
    await expect(client.call('exec.kill', { id: started.id, signal: 'kill' })).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
    });
    expect(alive(started.pid)).toBe(true);
    await client.call('exec.kill', { id: started.id, signal: 'SIGKILL' });
    await expect(client.call('exec.write', { id: 'nope', data: 'x' })).rejects.toMatchObject({
      code: ErrorCode.NotFound,
    });
  });

  it('stalls a fast producer on its pipe while the reader does not read, and resumes after', async () => {
    const started = await client.call('exec.start', { command: 'exec yes klient' });
    const stdout = client.openReader(started.stdout);
    client.openReader(started.stderr);
    // Nobody iterates stdout: the client pauses the socket, Klient stops reading the pipe,
    // and `yes` ends up asleep writing to its full stdout (a socketpair under Node: the kernel
    // shows sock_alloc_send_pskb; a pipe would show pipe_write) instead of filling Klient's memory.
    const wchan = () => readFile(`/proc/${started.pid}/wchan`, 'utf8').catch(() => '');
    await expect
      .poll(wchan, { timeout: 20_000 })
      .toMatch(/pipe_write|sock_alloc_send_pskb|unix_stream_sendmsg/);
    // Reading again lets output flow; then a kill ends the stream with the signal.
    let bytes = 0;
    const drained = (async () => {
      for await (const chunk of stdout) bytes += (chunk as Uint8Array).byteLength;
    })();
    await expect.poll(() => bytes, { timeout: 20_000 }).toBeGreaterThan(4 * 1024 * 1024);
    await client.call('exec.kill', { id: started.id, signal: 'SIGKILL' });
    await drained;
    expect(await stdout.done).toMatchObject({ exitCode: null, signal: 'SIGKILL' });
  });

  it('kills an exec.run whose caller went away', async () => {
    const other = await t.connect('owner');
    const pidFile = join(t.dir, 'run.pid');
    other.call('exec.run', { command: `echo $$ > ${pidFile}; exec sleep 300` }).catch(() => {});
    await expect.poll(() => readFile(pidFile, 'utf8').catch(() => ''), { timeout: 10_000 }).toMatch(/\d+/);
    const pid = Number(await readFile(pidFile, 'utf8'));
    await expect
      .poll(() => readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''), { timeout: 10_000 })
      .toContain('sleep');
    other.close();
    await expect.poll(() => alive(pid), { timeout: 20_000 }).toBe(false);
  });

  it('terminates the processes of a connection when it closes', async () => {
    const other = await t.connect('owner');
    const started = await other.call('exec.start', { argv: ['sleep', '300'] });
    expect(alive(started.pid)).toBe(true);
    other.close();
    await expect.poll(() => alive(started.pid), { timeout: 20_000 }).toBe(false);
  });
});
