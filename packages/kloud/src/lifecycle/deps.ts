/**
 * What the lifecycle needs from the rest of Kloud, as one object built in main.ts. The
 * lifecycle itself knows no provider, no token format and no transport.
 */
import type { Store } from '@kk/backend/store/store.js';
import type { Logger } from 'pino';
import type { Machine } from '../machines/machine.js';
import type { Provider, ProviderCredential } from '../providers/provider.js';
import type { EventBus } from './events.js';

export interface ExecOutcome {
  exitCode: number | null;
  signal?: string | null;
  stdout: string;
  stderr: string;
}

/** Klients wherever they are linked (this process or, on PostgreSQL, another): waits and calls over their links. */
export interface AgentLinks {
  /** Resolves once the Klient with this kite id is registered; rejects on timeout or abort. */
  waitOnline(kiteId: string, timeoutMs: number, signal: AbortSignal): Promise<void>;
  /** Runs a shell script on the machine (klient `exec.run`) and returns its outcome. */
  runScript(
    kiteId: string,
    script: string,
    options: { env?: Record<string, string>; timeoutMs: number },
  ): Promise<ExecOutcome>;
  /** Drops the link (machine destroyed or its key replaced). */
  disconnect(kiteId: string, reason: string): Promise<void>;
}

export interface LifecycleSettings {
  /** How long a lease lives without renewal; a dead holder's jobs are taken over after it. */
  leaseMs: number;
  /** How long a build or start waits for Klient to register. */
  registerTimeoutMs: number;
  /** Per provisioner. */
  provisionTimeoutMs: number;
  /** Attempts before a job interrupted by crashes is failed instead of resumed. */
  maxAttempts: number;
}

export interface LifecycleDeps {
  store: Store;
  /** This process's identity in lease and job rows. */
  holder: string;
  providers: (name: string) => Provider;
  credential: (machine: Machine) => Promise<ProviderCredential>;
  issueKiteKey: (machine: Machine, kiteId: string) => Promise<string>;
  /** The user data a provider runs at first boot (install script / cloud-config) carrying the kite.key. */
  userData: (machine: Machine, kiteKey: string) => Promise<string>;
  /** Environment for provisioners (the stack's config). */
  stackEnv: (machine: Machine) => Promise<Record<string, string>>;
  agents: AgentLinks;
  events: EventBus;
  log: Logger;
  settings: LifecycleSettings;
}
