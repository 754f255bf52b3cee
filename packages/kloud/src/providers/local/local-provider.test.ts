/**
 * The local provider with real processes. The "install script" here is a small stand-in that
 * does what the real one does on a machine (puts bin/klient in place, writes klient.env, starts
 * it in the background with its pid in etc/klient.pid); the real one is exercised end to end in
 * test/e2e. Here the "Klient" is a shell that sleeps.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../errors.js';
import { LocalProvider } from './local-provider.js';
import { processesIn, terminate } from './processes.js';

const root = mkdtempSync(join(tmpdir(), 'local-provider-'));
const provider = new LocalProvider({ root, stopGraceMs: 2_000 });
const cred = { id: 'local', provider: 'local', secret: {} };

const install = `#!/bin/sh
set -eu
mkdir -p "$KLIENT_PREFIX/bin" "$KLIENT_CONFIG_DIR"
printf '#!/bin/sh\\nexec sleep 1000\\n' > "$KLIENT_PREFIX/bin/klient"
chmod 0755 "$KLIENT_PREFIX/bin/klient"
echo "KLIENT_KLOUD_URL=http://127.0.0.1:1" > "$KLIENT_CONFIG_DIR/klient.env"
nohup "$KLIENT_PREFIX/bin/klient" >/dev/null 2>&1 &
echo $! > "$KLIENT_CONFIG_DIR/klient.pid"
# A process that left the machine's directory: found by the machine's mark in its environment.
(cd / && exec sleep 1001) >/dev/null 2>&1 &
`;

afterAll(async () => {
  await terminate(await processesIn(root), 2_000);
  rmSync(root, { recursive: true, force: true });
});

describe('LocalProvider', () => {
  it('creates, stops, starts, restarts and destroys a machine with real processes', async () => {
    const spec = { machineId: 'm1', label: 'one', idempotencyToken: 'job-1' };
    const created = await provider.create(cred, spec, install);
    expect(created.state).toBe('Running');
    const dir = String(created.meta!.directory);
    expect(existsSync(join(dir, 'install-klient.sh'))).toBe(false);
    // A retried create with the same token finds the same instance and starts nothing new.
    const again = await provider.create(cred, spec, install);
    expect(again.instanceId).toBe(created.instanceId);
    expect(await processesIn(dir)).toHaveLength(1);
    expect(await processesIn(dir, created.instanceId)).toHaveLength(2);

    expect((await provider.stop(cred, created.instanceId)).state).toBe('Stopped');
    expect(await processesIn(dir)).toEqual([]);
    expect((await provider.describe(cred, created.instanceId)).meta!.desired).toBe('stopped');
    const started = await provider.start(cred, created.instanceId);
    expect(started.state).toBe('Running');
    const pid = Number(readFileSync(join(dir, 'etc', 'klient.pid'), 'utf8'));
    const restarted = await provider.restart(cred, created.instanceId);
    expect(restarted.state).toBe('Running');
    expect(restarted.meta!.pid).not.toBe(pid);

    expect((await provider.listTagged(cred)).map((t) => [t.instanceId, t.machineId, t.state])).toEqual([
      [created.instanceId, 'm1', 'Running'],
    ]);
    await provider.destroy(cred, created.instanceId);
    expect(existsSync(dir)).toBe(false);
    expect(await processesIn(dir, created.instanceId)).toEqual([]);
    expect((await provider.describe(cred, created.instanceId)).state).toBe('Terminated');
    await provider.destroy(cred, created.instanceId);
  });

  it('reports a failed install with its last line and kind', async () => {
    const err = await provider
      .create(
        cred,
        { machineId: 'm2', label: 'two', idempotencyToken: 'j' },
        '#!/bin/sh\necho "checksum mismatch" >&2\nexit 3\n',
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({
      kind: 'user',
      message: 'installing Klient failed (exit 3): checksum mismatch',
    });
  });

  it('refuses sizes it does not have and ids that are not its own', async () => {
    await expect(
      provider.create(cred, { machineId: 'm3', label: 'x', idempotencyToken: 't', size: 'xl' }, install),
    ).rejects.toMatchObject({
      kind: 'user',
    });
    await expect(provider.describe(cred, '../../etc')).rejects.toMatchObject({ kind: 'notFound' });
    expect((await provider.listAvailable(cred)).sizes.map((s) => s.name)).toEqual(['local']);
  });
});
