/**
 * A real Kloud for end-to-end tests: in this process (startKloud) or as its own process
 * (`kloud serve`, for kill -9), on a free loopback port, with a throw-away data directory, the
 * local provider and Klient started from source (launcher artifact). `cleanup` kills every
 * process still running inside the data directory and removes it, so a failed test leaks
 * nothing either.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { bootstrapAdmin } from '@kk/backend/bootstrap.js';
import type { connect } from '@kk/protocol/node.js';
import { pino } from 'pino';
import { parse as parseYaml } from 'yaml';
import { loadKloudConfig } from '../../packages/kloud/src/config.js';
import { type Kloud, startKloud } from '../../packages/kloud/src/kloud.js';
import { processesIn, terminate } from '../../packages/kloud/src/providers/local/processes.js';
import type { Provider } from '../../packages/kloud/src/providers/provider.js';
import { type DesiredMachine, resolveStack } from '../../packages/kloud/src/stacks/resolve.js';
import { parseTemplate } from '../../packages/kloud/src/stacks/template.js';

export const repo = join(import.meta.dirname, '..', '..');

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'kloud-e2e-'));
}

/** JSON bodies as tests read them: loosely, field by field (the API's own tests check shapes). */
// biome-ignore lint/suspicious/noExplicitAny: test bodies are read loosely on purpose
export type Json = any;

export type Api = (
  method: string,
  path: string,
  body?: unknown,
  token?: string,
) => Promise<{ status: number; body: Json }>;

export function apiClient(baseUrl: () => string, defaultToken: string): Api {
  return async (method, path, body, token = defaultToken) => {
    const res = await fetch(`${baseUrl()}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
}

/** The resolved spec of one machine of a template (an object or its YAML), as stack apply would store it. */
export function machineSpec(machine: Record<string, unknown> | string): DesiredMachine {
  const m = typeof machine === 'string' ? parseYaml(machine) : machine;
  return resolveStack(parseTemplate({ machines: { m } }))[0]!;
}

/** A machine whose build waits at its provisioner until the file `gate` exists. */
export function gatedMachine(gate: string): Record<string, unknown> {
  return {
    provider: 'local',
    provisioners: [{ name: 'wait', run: `while [ ! -e ${gate} ]; do sleep 0.05; done` }],
  };
}

/** Polls `probe` until it returns a value (not undefined); fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Every local machine's Klient and install logs, for a failing test's message. */
export function machineLogs(dataDir: string): string {
  const root = join(dataDir, 'machines');
  let out = '';
  for (const name of (() => {
    try {
      return readdirSync(root);
    } catch {
      return [];
    }
  })()) {
    for (const file of ['etc/klient.log', 'install.log']) {
      try {
        out += `--- ${name}/${file}\n${readFileSync(join(root, name, file), 'utf8').slice(-3000)}\n`;
      } catch {}
    }
  }
  return out;
}

export async function killEverythingIn(dir: string): Promise<void> {
  await terminate(await processesIn(dir), 2_000).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}

export interface TestKloud {
  kloud: Kloud;
  dir: string;
  token: string;
  adminId: string;
  api: Api;
  cleanup(): Promise<void>;
}

/** `bootstrap: false` for a second Kloud on a database that already has its admin (token left empty). */
export async function startTestKloud(
  flags: Record<string, string> = {},
  options: { bootstrap?: boolean; providers?: Provider[] } = {},
): Promise<TestKloud> {
  const dir = flags['data-dir'] ?? tempDataDir();
  const config = loadKloudConfig({
    listen: '127.0.0.1:0',
    'klient-artifact': 'launcher',
    'heartbeat-ms': '1000',
    'register-timeout-ms': '60000',
    'sweep-ms': '0',
    ...flags,
    'data-dir': dir,
  });
  const kloud = await startKloud(config, {
    log: pino({ level: process.env.KLOUD_TEST_LOG ?? 'silent' }),
    providers: options.providers,
  });
  const boot = options.bootstrap === false ? undefined : await bootstrapAdmin(kloud.store);
  if (!boot && options.bootstrap !== false)
    throw new Error(`${dir} already has users; give a fresh data directory`);
  const token = boot?.token ?? '';
  const admin = boot?.user ?? (await kloud.store.users.byUsername('admin'))!;
  return {
    kloud,
    dir,
    token,
    adminId: admin.id,
    api: apiClient(() => kloud.url, token),
    cleanup: async () => {
      // Bounded: a Kloud stuck closing must not keep its machines' processes alive.
      await Promise.race([kloud.close().catch(() => {}), sleep(10_000)]);
      await killEverythingIn(dir);
    },
  };
}

/** `kloud serve` as a child process; resolves once it printed its URL. */
export async function spawnKloud(
  dir: string,
  port: number,
  extra: string[] = [],
): Promise<{ child: ChildProcess; url: string; token?: string }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repo, 'packages', 'kloud', 'src', 'main.ts'),
      'serve',
      '--listen',
      `127.0.0.1:${port}`,
      '--data-dir',
      dir,
      '--klient-artifact',
      'launcher',
      '--log-level',
      'warn',
      ...extra,
    ],
    { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      // One write: the URL, then the admin token on a first start only.
      const m = /Kloud is running at (\S+)\n/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`kloud exited with ${code}: ${err.slice(-2000)}`)));
  });
  const token = /Admin token: (\S+)/.exec(out)?.[1];
  return { child, url, token };
}

/** The messages a `kloud.subscribe` stream delivers, up to and including the first whose status `ends` it. */
export async function streamedMessages(
  rpc: ReturnType<typeof connect>,
  streamId: number,
  ends: (status: string) => boolean,
): Promise<string[]> {
  const seen: string[] = [];
  for await (const e of rpc.openReader(streamId)) {
    const event = e as { message: string; status: string };
    seen.push(event.message);
    if (ends(event.status)) break;
  }
  return seen;
}
