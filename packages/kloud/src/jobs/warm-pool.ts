/**
 * Warm pools (the Atlas seed's "cron keeps several instances ready"): a template with
 * `warm_pool: N` gets N machines of each of its machines built ahead, owned by the template's
 * owner, in no stack. `apply` hands one out instead of building when one is Running with the
 * very spec the stack asks for (same spec and provisioner hashes): it moves to the caller and
 * their stack in one transaction, and the next sweep builds a replacement.
 *
 * Pooled machines are labelled `pool:<templateId>:<machine>:<n>`. A template whose machines need
 * variables without defaults or credentials gets no pool (its inputs are per stack). Pool
 * machines whose template changed are destroyed; failed pool builds are deleted and retried.
 */
import { randomBytes } from 'node:crypto';
import type { Store } from '@kk/backend/store/store.js';
import type { Logger } from 'pino';
import type { Lifecycle } from '../lifecycle/lifecycle.js';
import { isInProgress } from '../lifecycle/states.js';
import { specOf } from '../machines/machine.js';
import { type DesiredMachine, resolveStack } from '../stacks/resolve.js';
import { parseTemplate } from '../stacks/template.js';

const prefix = (templateId: string) => `pool:${templateId}:`;

export class WarmPool {
  private readonly skipped = new Set<string>();

  constructor(private readonly deps: { store: Store; lifecycle: Lifecycle; log: Logger }) {}

  private async pooled(templateId: string) {
    const rows = await this.deps.store.conn.db
      .selectFrom('machines')
      .select('id')
      .where('stackId', 'is', null)
      .where('label', 'like', `${prefix(templateId)}%`)
      .execute();
    const out = [];
    for (const { id } of rows) {
      const m = await this.deps.store.machines.get(id);
      if (m) out.push(m);
    }
    return out;
  }

  /** One sweep: top every template's pool up to its size, retire what no longer matches. */
  async fill(): Promise<void> {
    const { store, lifecycle, log } = this.deps;
    const templates = await store.conn.db
      .selectFrom('stackTemplates')
      .select(['id', 'ownerId', 'content', 'sha1'])
      .execute();
    for (const t of templates) {
      let desired: DesiredMachine[];
      let size: number;
      try {
        const template = parseTemplate(t.content);
        size = template.warm_pool;
        if (size === 0) continue;
        desired = resolveStack(template, { stackName: 'pool' });
      } catch (err) {
        if (!this.skipped.has(t.sha1))
          log.info({ templateId: t.id, err: (err as Error).message }, 'template gets no warm pool');
        this.skipped.add(t.sha1);
        continue;
      }
      const owner = await store.users.get(t.ownerId);
      if (!owner) continue;
      const pool = await this.pooled(t.id);
      for (const d of desired) {
        const mine = pool.filter((m) => m.meta.poolMachine === d.name);
        let ready = 0;
        for (const m of mine) {
          const matches =
            specOf(m)?.specHash === d.specHash && specOf(m)?.provisionersHash === d.provisionersHash;
          const state = m.status.state;
          if (isInProgress(state)) ready += matches ? 1 : 0;
          else if (!matches && state === 'Running')
            await lifecycle.request(m.id, 'destroy', null).catch(() => undefined);
          else if (state === 'NotInitialized' || state === 'Terminated' || state === 'Unknown')
            await store.machines.delete(m.id, undefined, null).catch(() => undefined);
          else if (matches && state === 'Running') ready++;
        }
        for (let i = ready; i < size; i++) {
          const label = `${prefix(t.id)}${d.name}:${randomBytes(3).toString('hex')}`;
          const m = await store.machines.create(
            {
              provider: d.provider,
              label,
              credentialId: d.credentialId ?? null,
              meta: { spec: d, poolMachine: d.name },
            },
            { id: owner.id, username: owner.username },
          );
          await lifecycle.request(m.id, 'build', null);
          log.info({ templateId: t.id, machine: d.name, machineId: m.id }, 'building a warm pool machine');
        }
      }
    }
  }

  /**
   * Hands a ready pooled machine matching `desired` to `owner`'s stack; undefined when the pool
   * has none. The move is one conditional update, so two applies never get the same machine.
   */
  async take(
    templateId: string,
    desired: DesiredMachine,
    owner: string,
    stackId: string,
  ): Promise<string | undefined> {
    for (const m of await this.pooled(templateId)) {
      const spec = specOf(m);
      if (m.meta.poolMachine !== desired.name || m.status.state !== 'Running') continue;
      if (spec?.specHash !== desired.specHash || spec.provisionersHash !== desired.provisionersHash) continue;
      const { poolMachine: _, ...rest } = m.meta;
      const meta = { ...rest, spec: desired, stackMachine: desired.name };
      const moved = await this.deps.store.conn.db
        .updateTable('machines')
        .set((eb) => ({
          ownerId: owner,
          stackId,
          label: desired.label,
          meta: JSON.stringify(meta),
          updatedAt: Date.now(),
          version: eb('version', '+', 1),
        }))
        .where('id', '=', m.id)
        .where('label', '=', m.label)
        .where('state', '=', 'Running')
        .executeTakeFirst();
      if (Number(moved.numUpdatedRows) === 1) {
        await this.deps.store.audit.record(this.deps.store.conn.db, {
          actorId: owner,
          action: 'machine.handout',
          resourceType: 'machine',
          resourceId: m.id,
          details: { templateId, stackId, from: m.ownerId },
        });
        return m.id;
      }
    }
    return undefined;
  }
}
