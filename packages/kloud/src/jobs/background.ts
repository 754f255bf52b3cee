/**
 * Kloud's background jobs (the Atlas seed's cron), one sweep every `sweepMs`:
 *
 * - take over lifecycle jobs whose holder died (lease lapsed), then stack jobs likewise;
 * - fail and clean up builds stuck past their deadline (stuck-builds.ts);
 * - stop machines idle past their limit, from `klient.usage` (idle.ts);
 * - reconcile the database with what each provider really has (reconcile.ts);
 * - keep warm pools of ready machines per template (warm-pool.ts).
 *
 * A sweep never overlaps the previous one; each part's failure is logged and the others run.
 */
import type { Store } from '@kk/backend/store/store.js';
import type { Logger } from 'pino';
import { isStoreUnavailable } from '../api/backend-error.js';
import type { KloudConfig } from '../config.js';
import type { EventBus } from '../lifecycle/events.js';
import type { Lifecycle } from '../lifecycle/lifecycle.js';
import type { Machine } from '../machines/machine.js';
import type { Provider, ProviderCredential } from '../providers/provider.js';
import type { Registry } from '../registry/registry.js';

export interface BackgroundDeps {
  store: Store;
  lifecycle: Lifecycle;
  registry: Registry;
  providers: Map<string, Provider>;
  credential: (machine: Machine) => Promise<ProviderCredential>;
  events: EventBus;
  log: Logger;
  config: Pick<KloudConfig, 'sweepMs' | 'buildDeadlineMs' | 'idleStopMinutes'>;
}

export type Sweep = (deps: BackgroundDeps) => Promise<void>;

export class BackgroundJobs {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly sweeps: Array<[string, Sweep]> = [];

  constructor(private readonly deps: BackgroundDeps) {
    this.sweeps.push(['recover', async (d) => void (await d.lifecycle.recover(false))]);
  }

  /** Adds a sweep (stuck builds, idle, reconcile, warm pool); they run in the order added. */
  add(name: string, sweep: Sweep): void {
    this.sweeps.push([name, sweep]);
  }

  start(): void {
    if (this.deps.config.sweepMs <= 0) return;
    const tick = () => {
      this.timer = setTimeout(() => {
        void this.sweepOnce().finally(() => {
          if (!this.stopped) tick();
        });
      }, this.deps.config.sweepMs);
      this.timer.unref();
    };
    tick();
  }

  /** Runs every sweep once (the timer's job; tests call it to avoid waiting). */
  sweepOnce(): Promise<void> {
    this.running ??= (async () => {
      for (const [name, sweep] of this.sweeps) {
        if (this.stopped) return;
        try {
          await sweep(this.deps);
        } catch (err) {
          // The database away (restarting, unreachable) is expected and retried at the next sweep.
          if (isStoreUnavailable(err))
            this.deps.log.warn(
              { sweep: name, reason: err.message },
              'background sweep skipped: the database is unavailable',
            );
          else this.deps.log.error({ err, sweep: name }, 'background sweep failed');
        }
      }
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
