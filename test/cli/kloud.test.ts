/**
 * kd against a real Kloud (local provider, real Klients): login, a stack applied from a file with
 * its progress, machines listed, exec and cp through Kloud's tunnel by machine label, lifecycle
 * calls, and exit codes for the usual mistakes.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn as spawnPty } from 'node-pty';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKloud, type TestKloud } from '../e2e/harness.js';
import { KD, kd } from './kd.js';

let t: TestKloud;
let dir: string;
let env: Record<string, string>;
const run = (args: string[], options: Parameters<typeof kd>[1] = {}) => kd(args, { env, ...options });

beforeAll(async () => {
  t = await startTestKloud();
  dir = await mkdtemp(join(tmpdir(), 'kd-kloud-'));
  env = { XDG_CONFIG_HOME: join(dir, 'config'), KD_URL: '', KD_TOKEN: '' };
}, 120_000);
afterAll(async () => {
  await t?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe('kd with Kloud', () => {
  it('refuses a bad token (exit 3) and keeps a good one in a 0600 file', async () => {
    const bad = await run(['login', t.kloud.url, '--token', 'kk_wrong']);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/^kd: .*kd login/);
    const notLoggedIn = await run(['machine', 'list']);
    expect(notLoggedIn.code).toBe(3);

    const good = await run(['login', t.kloud.url], { stdin: `${t.token}\n` });
    expect(good.stderr).toContain('Logged in');
    expect(good.code).toBe(0);
    const file = join(dir, 'config', 'kd', 'config.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8')).login).toEqual({ url: t.kloud.url, token: t.token });
  });

  it('asks for the token on a terminal without echoing it', async () => {
    const pty = spawnPty(process.execPath, [KD, 'login', t.kloud.url], {
      cols: 100,
      rows: 10,
      env: { ...process.env, ...env } as Record<string, string>,
    });
    let output = '';
    let typed = false;
    pty.onData((data) => {
      output += data;
      if (!typed && output.includes('API token: ')) {
        typed = true;
        pty.write(`${t.token}\r`);
      }
    });
    expect(await new Promise<number>((resolve) => pty.onExit(({ exitCode }) => resolve(exitCode)))).toBe(0);
    expect(output).toContain('Logged in');
    expect(output).not.toContain(t.token);
  });

  it('applies a stack from a file, printing progress, then lists its machine Running', async () => {
    const file = join(dir, 'dev.yaml');
    await writeFile(
      file,
      'machines:\n  box:\n    provider: local\n    provisioners:\n      - name: hello\n        run: echo provisioned > hello.txt\n',
    );
    const plan = await run(['stack', 'plan', file]);
    expect(plan.code).toBe(0);
    expect(plan.stdout.toString()).toMatch(/box\s+create/);

    const apply = await run(['stack', 'apply', file]);
    expect(apply.code).toBe(0);
    // Not a terminal: one plain line per progress message, ending with the stack applied.
    const lines = apply.stderr.trim().split('\n');
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.at(-1)).toMatch(/^100% stack applied$/);

    const list = await run(['machine', 'list', '--json']);
    const machines = JSON.parse(list.stdout.toString()) as Array<{
      label: string;
      status: { state: string };
    }>;
    expect(machines).toHaveLength(1);
    expect(machines[0]!.status.state).toBe('Running');
  }, 150_000);

  it('runs exec and cp on the machine by label, through the tunnel', async () => {
    const machines = JSON.parse((await run(['machine', 'list', '--json'])).stdout.toString()) as Array<{
      label: string;
    }>;
    const label = machines[0]!.label;
    const r = await run(['exec', label, '--', 'cat hello.txt; exit 3']);
    expect(r.stdout.toString()).toBe('provisioned\n');
    expect(r.code).toBe(3);

    const data = randomBytes(2 * 1024 * 1024 + 5);
    await writeFile(join(dir, 'up.bin'), data);
    expect((await run(['cp', join(dir, 'up.bin'), `${label}:up.bin`])).code).toBe(0);
    expect((await run(['cp', `${label}:up.bin`, join(dir, 'down.bin')])).code).toBe(0);
    expect(Buffer.compare(await readFile(join(dir, 'down.bin')), data)).toBe(0);
  }, 60_000);

  it('shares a machine read-only: the other user may list files but not run commands', async () => {
    const machines = JSON.parse((await run(['machine', 'list', '--json'])).stdout.toString()) as Array<{
      label: string;
      id: string;
    }>;
    const { label, id } = machines[0]!;
    const carol = (await t.api('POST', '/api/v1/users', { username: 'carol' })).body;
    const carolToken = (await t.api('POST', '/api/v1/tokens', { name: 'cli', userId: carol.id })).body
      .token as string;
    const shared = await run(['share', label, 'carol', '--readonly']);
    expect(shared.code).toBe(0);
    const asCarol = { ...env, KD_URL: t.kloud.url, KD_TOKEN: carolToken };
    const ls = await kd(['ls', id, '--json'], { env: asCarol });
    expect(ls.code).toBe(0);
    expect(JSON.parse(ls.stdout.toString()).map((e: { name: string }) => e.name)).toContain('hello.txt');
    const exec = await kd(['exec', id, '--', 'true'], { env: asCarol });
    expect(exec.code).toBe(255);
    expect(exec.stderr).toMatch(/^kd: /);
    expect((await run(['share', label, 'nobody-here'])).code).toBe(5);
  }, 60_000);

  it('stops a machine with progress, and refuses an illegal call with exit 6', async () => {
    const machines = JSON.parse((await run(['machine', 'list', '--json'])).stdout.toString()) as Array<{
      label: string;
    }>;
    const label = machines[0]!.label;
    const stop = await run(['machine', 'stop', label]);
    expect(stop.code).toBe(0);
    expect(stop.stderr).toMatch(/stop completed/);
    const again = await run(['machine', 'stop', label]);
    expect(again.code).toBe(6);
    expect(again.stderr).toMatch(/^kd: .*Stopped/);
    const info = await run(['machine', 'info', label, '--json']);
    expect(JSON.parse(info.stdout.toString())).toMatchObject({
      state: 'Stopped',
      allowed: ['start', 'destroy'],
    });
  }, 60_000);

  it('draws a progress bar on a terminal while the machine starts', async () => {
    const machines = JSON.parse((await run(['machine', 'list', '--json'])).stdout.toString()) as Array<{
      label: string;
    }>;
    const pty = spawnPty(process.execPath, [KD, 'machine', 'start', machines[0]!.label], {
      cols: 100,
      rows: 10,
      env: { ...process.env, ...env } as Record<string, string>,
    });
    let output = '';
    pty.onData((data) => {
      output += data;
    });
    const code = await new Promise<number>((resolve) => pty.onExit(({ exitCode }) => resolve(exitCode)));
    expect(code).toBe(0);
    // Redrawn in place: carriage return, erase line, then the bar.
    expect(output).toContain('\r\x1b[K[#');
    expect(output).toMatch(/\[#+-*\]\s+\d+% /);
    expect(output).toContain('start completed');
  }, 60_000);

  it('stores templates and credentials (secret from stdin, never printed back) and shares a credential', async () => {
    const file = join(dir, 'tpl.yaml');
    await writeFile(file, 'machines:\n  one:\n    provider: local\n');
    const created = await run(['template', 'create', file, '--access', 'private']);
    expect(created.code).toBe(0);
    const templateId = created.stdout.toString().trim();
    const templates = JSON.parse((await run(['template', 'list', '--json'])).stdout.toString()) as Array<{
      id: string;
    }>;
    expect(templates.map((x) => x.id)).toContain(templateId);
    expect((await run(['template', 'show', templateId])).stdout.toString()).toContain('provider: local');
    expect((await run(['template', 'delete', templateId])).code).toBe(0);
    expect((await run(['template', 'show', templateId])).code).toBe(5);

    const secret = 'sEcReT-value-123';
    const added = await run(['credential', 'add', '--provider', 'digitalocean', '--title', 'do main'], {
      stdin: `token=${secret}\n`,
    });
    expect(added.code).toBe(0);
    const listed = await run(['credential', 'list', '--json']);
    expect(listed.stdout.toString()).toContain('do main');
    expect(listed.stdout.toString()).not.toContain(secret);
    const credentialId = added.stdout.toString().trim();
    expect((await run(['credential', 'share', credentialId, 'carol'])).code).toBe(0);
    expect((await run(['credential', 'add', '--provider', 'aws', '--title', 'x', 'not-a-pair'])).code).toBe(
      2,
    );
  }, 60_000);

  it('destroys the stack from its file, with progress, leaving its machine Terminated', async () => {
    const destroyed = await run(['stack', 'destroy', join(dir, 'dev.yaml')]);
    expect(destroyed.code).toBe(0);
    expect(destroyed.stderr.trim().split('\n').at(-1)).toMatch(/^100% /);
    const machines = JSON.parse((await run(['machine', 'list', '--json'])).stdout.toString()) as Array<{
      status: { state: string };
    }>;
    expect(machines.map((m) => m.status.state)).toEqual(['Terminated']);
    expect((await run(['stack', 'destroy', join(dir, 'nope.yaml')])).code).toBe(5);
  }, 60_000);

  it('names a missing machine with exit 5', async () => {
    const r = await run(['machine', 'info', 'no-such-box']);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('kd machine list');
  });
});
