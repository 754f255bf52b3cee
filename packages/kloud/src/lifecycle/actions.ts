/**
 * The work of each lifecycle call, step by step, reporting progress. Each step is safe to run
 * again after a crash: `create` carries the job id as its idempotency token, start/stop/destroy
 * of an instance already in that state succeed.
 */
import { randomUUID } from 'node:crypto';
import { isLinkLost } from '../errors.js';
import { type BuildSpec, buildSpecOf, type Machine } from '../machines/machine.js';
import type { InstanceInfo, Provider, ProviderCredential } from '../providers/provider.js';
import type { ExecOutcome, LifecycleDeps } from './deps.js';
import type { JobRow } from './jobstore.js';
import { saveProgress } from './jobstore.js';
import type { MachineState } from './states.js';
import { unlessAborted } from './wakeup.js';

export interface ActionContext {
  deps: LifecycleDeps;
  job: JobRow;
  machine: Machine;
  provider: Provider;
  credential: ProviderCredential;
  signal: AbortSignal;
  /** Set by build: what it builds (the stack's spec, or the machine's meta). */
  spec?: BuildSpec;
  progress(message: string, percentage: number): Promise<void>;
}

/** A step failed in a way the caller should see (the message is kept as the state reason). */
export class ActionFailure extends Error {
  override readonly name = 'ActionFailure';
}

async function recordInstance(ctx: ActionContext, info: InstanceInfo): Promise<void> {
  const { store } = ctx.deps;
  const facts = (ctx.machine.meta.provider ?? {}) as Record<string, unknown>;
  if (info.meta && JSON.stringify({ ...facts, ...info.meta }) !== JSON.stringify(facts)) {
    await store.machines.update(
      ctx.machine.id,
      { meta: { ...ctx.machine.meta, provider: { ...facts, ...info.meta } } },
      undefined,
      null,
    );
  }
  ctx.machine = await store.machines.setRuntime(
    ctx.machine.id,
    { instanceId: info.instanceId, ipAddress: info.ipAddress ?? null },
    null,
  );
}

async function waitForKlient(ctx: ActionContext, what: string, percentage: number): Promise<void> {
  const kiteId = ctx.machine.kiteId;
  if (!kiteId) throw new ActionFailure('machine has no kite id; build it again');
  await ctx.progress(`waiting for Klient to register (${what})`, percentage);
  try {
    await ctx.deps.agents.waitOnline(kiteId, ctx.deps.settings.registerTimeoutMs, ctx.signal);
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    throw new ActionFailure(
      `Klient did not register within ${Math.round(ctx.deps.settings.registerTimeoutMs / 1000)} s (${what}); see the machine's klient log`,
    );
  }
}

/** Runs of one provisioner cut short by a lost link before the build gives up. */
const PROVISIONER_TRIES = 3;

async function runProvisioners(ctx: ActionContext): Promise<void> {
  const provisioners = ctx.spec?.provisioners ?? [];
  if (!provisioners.length) return;
  const env = await ctx.deps.stackEnv(ctx.machine);
  for (const [i, p] of provisioners.entries()) {
    const pct = 75 + Math.floor((20 * i) / provisioners.length);
    await ctx.progress(`running provisioner ${p.name} (${i + 1}/${provisioners.length})`, pct);
    let out: ExecOutcome | undefined;
    for (let tries = 1; !out; tries++) {
      try {
        out = await unlessAborted(
          ctx.signal,
          ctx.deps.agents.runScript(ctx.machine.kiteId!, p.content, {
            env,
            timeoutMs: ctx.deps.settings.provisionTimeoutMs,
          }),
        );
      } catch (err) {
        if (ctx.signal.aborted || !isLinkLost(err) || tries >= PROVISIONER_TRIES) throw err;
        // Provisioners are idempotent (README): run it again once the Klient is back.
        await waitForKlient(ctx, `link lost during provisioner ${p.name}; it runs again`, pct);
      }
    }
    if (out.exitCode !== 0) {
      const tail = out.stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 400);
      throw new ActionFailure(
        `provisioner ${p.name} failed with ${out.exitCode === null ? `signal ${out.signal}` : `exit code ${out.exitCode}`}${tail ? `: ${tail}` : ''}`,
      );
    }
  }
}

export async function build(ctx: ActionContext): Promise<void> {
  const { deps, job } = ctx;
  // A resumed build keeps its kite id: the Klient it may already have started holds that key.
  const kiteId = job.payload.kiteId ?? randomUUID();
  if (job.payload.kiteId !== kiteId || ctx.machine.kiteId !== kiteId) {
    job.payload.kiteId = kiteId;
    job.payload.step = 'kite-key';
    await saveProgress(deps.store.conn.db, job);
    ctx.machine = await deps.store.machines.setRuntime(ctx.machine.id, { kiteId }, null);
    // A new build is a new machine for the people it was shared with for a while (Koding's rule).
    for (const u of ctx.machine.users)
      if (!u.permanent) await deps.store.machines.unshare(ctx.machine.id, u.userId, null);
  }
  await ctx.progress('issuing kite.key', 5);
  const kiteKey = await deps.issueKiteKey(ctx.machine, kiteId);
  const userData = await deps.userData(ctx.machine, kiteKey);
  const spec = await buildSpecOf(deps.store, ctx.machine);
  ctx.spec = spec;
  await ctx.progress(`creating the instance at ${ctx.provider.name}`, 10);
  // Not raced with the abort: a create cut short could finish after the rollback and leak.
  const info = await ctx.provider.create(
    ctx.credential,
    {
      machineId: ctx.machine.id,
      label: ctx.machine.label,
      size: spec?.size,
      image: spec?.image,
      region: spec?.region,
      extra: spec?.extra,
      idempotencyToken: job.id,
    },
    userData,
  );
  job.payload.instanceId = info.instanceId;
  job.payload.step = 'created';
  await saveProgress(deps.store.conn.db, job);
  await recordInstance(ctx, info);
  await ctx.progress(`instance ${info.instanceId} created`, 40);
  await waitForKlient(ctx, 'first boot', 50);
  job.payload.step = 'registered';
  await saveProgress(deps.store.conn.db, job);
  await runProvisioners(ctx);
}

/** Undoes a failed build per the stack's policy; returns the state the machine ends in. */
export async function rollbackBuild(
  ctx: ActionContext,
  reason: string,
): Promise<{ state: MachineState; reason: string }> {
  const keep =
    (ctx.spec ?? (await buildSpecOf(ctx.deps.store, ctx.machine).catch(() => undefined)))?.onBuildFailure ===
    'keep';
  const instanceId = ctx.job.payload.instanceId ?? ctx.machine.instanceId ?? undefined;
  if (keep && instanceId) {
    const info = await ctx.provider.describe(ctx.credential, instanceId).catch(() => undefined);
    const state: MachineState =
      info?.state === 'Running' ? 'Running' : info?.state === 'Stopped' ? 'Stopped' : 'Unknown';
    return {
      state,
      reason: `build failed: ${reason}; instance ${instanceId} kept for inspection (policy keep)`,
    };
  }
  await destroyInstances(ctx, instanceId);
  return { state: ctx.job.payload.previousState, reason: `build failed: ${reason}` };
}

/** Destroys the known instance and any other the provider tagged with this machine (a create the crash hid). */
async function destroyInstances(ctx: ActionContext, instanceId: string | undefined): Promise<void> {
  const ids = new Set<string>();
  if (instanceId) ids.add(instanceId);
  const tagged = await ctx.provider.listTagged(ctx.credential).catch(() => []);
  for (const t of tagged) if (t.machineId === ctx.machine.id) ids.add(t.instanceId);
  for (const id of ids) await ctx.provider.destroy(ctx.credential, id);
  if (ctx.machine.kiteId) await ctx.deps.agents.disconnect(ctx.machine.kiteId, 'machine destroyed');
  ctx.machine = await ctx.deps.store.machines.setRuntime(
    ctx.machine.id,
    { instanceId: null, kiteId: null, ipAddress: null, queryString: null },
    null,
  );
  await ctx.deps.store.machines.setRegistry(ctx.machine.id, { online: false, linkHolder: null });
}

function instanceOf(ctx: ActionContext): string {
  if (!ctx.machine.instanceId) throw new ActionFailure('machine has no instance; build it first');
  return ctx.machine.instanceId;
}

export async function start(ctx: ActionContext): Promise<void> {
  await ctx.progress(`starting instance at ${ctx.provider.name}`, 10);
  await recordInstance(ctx, await ctx.provider.start(ctx.credential, instanceOf(ctx)));
  await waitForKlient(ctx, 'start', 60);
}

export async function stop(ctx: ActionContext): Promise<void> {
  await ctx.progress(`stopping instance at ${ctx.provider.name}`, 10);
  if (ctx.machine.kiteId) await ctx.deps.agents.disconnect(ctx.machine.kiteId, 'machine stopping');
  await recordInstance(ctx, await ctx.provider.stop(ctx.credential, instanceOf(ctx)));
  await ctx.deps.store.machines.setRegistry(ctx.machine.id, { online: false, linkHolder: null });
}

export async function restart(ctx: ActionContext): Promise<void> {
  await ctx.progress(`restarting instance at ${ctx.provider.name}`, 10);
  if (ctx.machine.kiteId) await ctx.deps.agents.disconnect(ctx.machine.kiteId, 'machine restarting');
  await recordInstance(ctx, await ctx.provider.restart(ctx.credential, instanceOf(ctx)));
  await waitForKlient(ctx, 'restart', 60);
}

export async function destroy(ctx: ActionContext): Promise<void> {
  await ctx.progress(`destroying instance at ${ctx.provider.name}`, 10);
  await destroyInstances(ctx, ctx.machine.instanceId ?? ctx.job.payload.instanceId);
}

export const actions = { build, start, stop, restart, destroy } as const;
