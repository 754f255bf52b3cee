import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { isKloudError } from '../errors.js';
import { buildUserData, checkUserData, cloudInitPaths } from './user-data.js';

const run = promisify(execFile);
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kloud-cloudinit-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs Debian's `cloud-init schema` on the text; resolves to its verdict. */
async function cloudInitSchema(text: string): Promise<{ ok: boolean; output: string }> {
  const file = join(dir, `user-data-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, text);
  try {
    const { stdout, stderr } = await run('cloud-init', ['schema', '--config-file', file]);
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

const base = {
  user: 'alice',
  kiteKey: 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl',
  kloudUrl: 'https://kloud.example.com',
  klientUrl: 'https://kloud.example.com/download/klient-linux-x64',
  klientSha256: 'ab'.repeat(32),
};

function problemPaths(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (!isKloudError(error)) throw error;
    expect(error.kind).toBe('InvalidParams');
    return ((error.data?.problems ?? []) as { path: string }[]).map((p) => p.path);
  }
  throw new Error('expected a KloudError');
}

describe('buildUserData', () => {
  it('is a valid #cloud-config that creates the user and runs the install script holding the kite.key', async () => {
    const text = buildUserData(base);
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    const verdict = await cloudInitSchema(text);
    expect(verdict.output).toContain('Valid cloud-config');
    expect(verdict.ok).toBe(true);

    const config = parse(text);
    expect(config.users).toEqual([
      'default',
      { name: 'alice', shell: '/bin/bash', lock_passwd: true, sudo: 'ALL=(ALL) NOPASSWD:ALL' },
    ]);
    const script = config.write_files.find((f: { path: string }) => f.path === cloudInitPaths.installScript);
    expect(script.permissions).toBe('0700');
    expect(script.content).toContain(`KITE_KEY='${base.kiteKey}'`);
    expect(script.content).toContain(base.klientSha256);
    expect(script.content).toContain('Restart=always');
    expect(JSON.stringify(config.runcmd)).toContain(cloudInitPaths.installScript);
  });

  it('runs a shell-script user data after the install, as its own file', async () => {
    const userData = '#!/bin/bash\napt-get install -y git\n';
    const text = buildUserData({ ...base, userData });
    expect((await cloudInitSchema(text)).ok).toBe(true);
    const config = parse(text);
    expect(
      config.write_files.find((f: { path: string }) => f.path === cloudInitPaths.userScript).content,
    ).toBe(userData);
    expect(config.runcmd).toHaveLength(2);
    expect(config.runcmd[1]).toEqual([cloudInitPaths.userScript]);
  });

  it('deep-merges a cloud-config user data: lists appended, new keys kept, identical user accepted', async () => {
    const userData = [
      '#cloud-config',
      'packages: [git, htop]',
      'runcmd:',
      '  - echo hello > /tmp/hello',
      'write_files:',
      '  - path: /etc/motd',
      '    content: welcome',
      'users:',
      '  - default',
      '  - name: bob',
      '    shell: /bin/sh',
      'ntp:',
      '  enabled: yes',
    ].join('\n');
    const text = buildUserData({ ...base, userData });
    const verdict = await cloudInitSchema(text);
    expect(verdict.output).toContain('Valid cloud-config');
    const config = parse(text);
    expect(config.packages).toEqual(['git', 'htop']);
    expect(config.runcmd[1]).toBe('echo hello > /tmp/hello');
    expect(config.write_files.map((f: { path: string }) => f.path)).toEqual([
      cloudInitPaths.installScript,
      '/etc/motd',
    ]);
    expect(
      config.users.map((u: unknown) => (typeof u === 'string' ? u : (u as { name: string }).name)),
    ).toEqual(['default', 'alice', 'bob']);
    expect(config.ntp).toEqual({ enabled: true });
  });

  it('writes YAML 1.1 as cloud-init reads it: a string "yes" stays a string, so the schema check sees it', async () => {
    const text = buildUserData({ ...base, userData: '#cloud-config\nntp:\n  enabled: "yes"\n' });
    const verdict = await cloudInitSchema(text);
    expect(verdict.ok).toBe(false);
    expect(verdict.output).toContain('ntp.enabled');
  });

  it('refuses conflicts with the path of each', () => {
    const userData = [
      '#cloud-config',
      'write_files:',
      '  - path: /etc/klient/kite.key',
      '    content: mine',
      '  - path: /var/lib/kloud/install-klient.sh',
      '    content: mine',
      'users:',
      '  - name: alice',
      '    shell: /bin/zsh',
      'merge_how: list()+dict()',
    ].join('\n');
    expect(problemPaths(() => buildUserData({ ...base, userData }))).toEqual([
      'merge_how',
      'write_files[/etc/klient/kite.key]',
      'write_files[/var/lib/kloud/install-klient.sh]',
      'users[alice]',
    ]);
  });

  it('refuses user data that is neither a script nor a cloud-config, and broken YAML', () => {
    expect(problemPaths(() => checkUserData('Content-Type: multipart/mixed\n'))).toEqual(['user_data']);
    expect(problemPaths(() => checkUserData('#include\nhttps://example.com/x\n'))).toEqual(['user_data']);
    expect(problemPaths(() => checkUserData('#cloud-config\nruncmd: [\n'))).toEqual(['user_data']);
    expect(problemPaths(() => checkUserData('#cloud-config\n- a\n- b\n'))).toEqual(['user_data']);
    expect(problemPaths(() => checkUserData('#cloud-config\na: 1\na: 2\n'))).toEqual(['user_data']);
  });

  it('checkUserData passes what buildUserData accepts and names the same conflicts', () => {
    expect(() => checkUserData(undefined)).not.toThrow();
    expect(() => checkUserData('#!/bin/sh\necho hi\n')).not.toThrow();
    expect(() => checkUserData('#cloud-config\npackages: [git]\n')).not.toThrow();
    expect(
      problemPaths(() =>
        checkUserData('#cloud-config\nwrite_files:\n  - path: /etc/systemd/system/klient.service\n'),
      ),
    ).toEqual(['write_files[/etc/systemd/system/klient.service]']);
    expect(problemPaths(() => checkUserData('#cloud-config\nusers: [carol]\n', 'carol'))).toEqual([
      'users[carol]',
    ]);
  });

  it('refuses bad install parameters before writing anything', () => {
    expect(() => buildUserData({ ...base, klientSha256: 'nothex' })).toThrow(/klientSha256/);
    expect(() => buildUserData({ ...base, kloudUrl: 'ftp://x' })).toThrow(/kloudUrl/);
    expect(() => buildUserData({ ...base, user: 'Robert; rm -rf /' })).toThrow(/user/);
    expect(() => buildUserData({ ...base, kiteKey: "a.b.c'; reboot" })).toThrow(/kiteKey/);
  });
});
