/**
 * Machines (Koding's JMachine). Users create them through the API; after that Kloud owns their
 * status, address and registry fields. `status` changes bump the version (and so the ETag);
 * registry fields (online, lastSeenAt, linkHolder) are live heartbeat values and do not, so a
 * heartbeat never turns a user's pending edit stale.
 */
import { randomBytes } from 'node:crypto';
import { machineStateSchema } from '@kk/protocol/catalogue/kloud.js';
import type { z } from 'zod';
import type { Viewer } from '../access/viewer.js';
import { errors } from '../errors.js';
import { newId } from '../ids.js';
import type { Db } from '../store/db.js';
import type { MachinesTable } from '../store/schema.js';
import {
  isUniqueViolation,
  type Page,
  type PageQuery,
  pageById,
  parseJson,
  versionedUpdate,
} from './common.js';
import { type Actor, type RepoContext, versionedRow } from './context.js';

/** Koding's machine states; the list is the protocol's (one source for Kloud, backend and clients). */
export const MACHINE_STATES = machineStateSchema.options;
export type MachineState = z.infer<typeof machineStateSchema>;

/** States in which no instance exists at the provider: only then may a record go without leaking one. */
export const NO_INSTANCE_STATES: readonly MachineState[] = ['NotInitialized', 'Terminated'];

/**
 * Refuses (conflict) when machines that may still have an instance at a provider depend on what
 * is being deleted — a user (their machines, and machines anyone runs with the user's
 * credentials, which go with the user) or a credential: without them Kloud could not destroy
 * those instances.
 */
export async function refuseLiveMachines(
  trx: Db,
  of: { userId: string } | { credentialId: string },
  what: string,
): Promise<void> {
  const live = await trx
    .selectFrom('machines')
    .select(['id', 'state'])
    .where('state', 'not in', [...NO_INSTANCE_STATES])
    .where((eb) =>
      'credentialId' in of
        ? eb('credentialId', '=', of.credentialId)
        : eb.or([
            eb('ownerId', '=', of.userId),
            eb(
              'credentialId',
              'in',
              eb.selectFrom('credentials').select('id').where('ownerId', '=', of.userId),
            ),
          ]),
    )
    .limit(20)
    .execute();
  if (live.length > 0) {
    throw errors.conflict(`${what} has machines that may still exist at their provider; destroy them first`, {
      machines: live.map((m) => ({ id: m.id, state: m.state })),
    });
  }
}

export interface MachineUser {
  userId: string;
  /** Permanent shares survive the machine being rebuilt; others are dropped by Kloud then. */
  permanent: boolean;
  readonly: boolean;
}

export interface Machine {
  id: string;
  /** `u` + first letters of username, group slug (`x` without a group) and provider + 8 random hex. */
  uid: string;
  ownerId: string;
  groupId: string | null;
  stackId: string | null;
  provider: string;
  label: string;
  meta: Record<string, unknown>;
  status: { state: MachineState; reason: string; modifiedAt: number };
  queryString: string | null;
  ipAddress: string | null;
  credentialId: string | null;
  provisioners: string[];
  kiteId: string | null;
  instanceId: string | null;
  registry: { online: boolean; lastSeenAt: number | null; linkHolder: string | null };
  users: MachineUser[];
  createdAt: number;
  updatedAt: number;
  version: number;
}

export interface NewMachine {
  provider: string;
  label: string;
  meta?: Record<string, unknown>;
  stackId?: string | null;
  groupId?: string | null;
  credentialId?: string | null;
  provisioners?: string[];
}

export type MachinePatch = Partial<
  Pick<Machine, 'label' | 'meta' | 'credentialId' | 'provisioners' | 'stackId'>
>;

/** Fields Kloud sets as it builds and runs a machine. */
export type MachineRuntimePatch = Partial<
  Pick<Machine, 'queryString' | 'ipAddress' | 'kiteId' | 'instanceId'>
>;

/** What a viewer may do with a machine: everything, use it, or only look. */
export type MachineAccess = 'owner' | 'user' | 'readonly';

function toMachine(r: MachinesTable, users: MachineUser[]): Machine {
  return {
    id: r.id,
    uid: r.uid,
    ownerId: r.ownerId,
    groupId: r.groupId,
    stackId: r.stackId,
    provider: r.provider,
    label: r.label,
    meta: parseJson(r.meta),
    status: { state: r.state as MachineState, reason: r.stateReason, modifiedAt: r.stateModifiedAt },
    queryString: r.queryString,
    ipAddress: r.ipAddress,
    credentialId: r.credentialId,
    provisioners: parseJson(r.provisioners),
    kiteId: r.kiteId,
    instanceId: r.instanceId,
    registry: { online: r.online === 1, lastSeenAt: r.lastSeenAt, linkHolder: r.linkHolder },
    users,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    version: r.version,
  };
}

export function machineUid(username: string, groupSlug: string | undefined, provider: string): string {
  const first = (s: string | undefined, fallback: string) => (s?.[0] ?? fallback).toLowerCase();
  return `u${first(username, 'x')}${first(groupSlug, 'x')}${first(provider, 'x')}${randomBytes(4).toString('hex')}`;
}

export function machinesRepo(ctx: RepoContext) {
  const { conn, audit } = ctx;
  const { db } = conn;
  const row = versionedRow(ctx, 'machines', 'machine');

  const withUsers = async (rows: MachinesTable[]): Promise<Machine[]> => {
    if (rows.length === 0) return [];
    const shares = await db
      .selectFrom('machineUsers')
      .selectAll()
      .where(
        'machineId',
        'in',
        rows.map((r) => r.id),
      )
      .orderBy('createdAt')
      .execute();
    return rows.map((r) =>
      toMachine(
        r,
        shares
          .filter((s) => s.machineId === r.id)
          .map((s) => ({ userId: s.userId, permanent: s.permanent === 1, readonly: s.readonly === 1 })),
      ),
    );
  };

  const one = async (column: 'id' | 'uid' | 'kiteId', value: string): Promise<Machine | undefined> => {
    const row = await db.selectFrom('machines').selectAll().where(column, '=', value).executeTakeFirst();
    return row && (await withUsers([row]))[0];
  };
  const get = (id: string) => one('id', id);

  return {
    get,
    byUid: (uid: string) => one('uid', uid),
    byKiteId: (kiteId: string) => one('kiteId', kiteId),

    async create(
      input: NewMachine,
      owner: { id: string; username: string },
      groupSlug?: string,
    ): Promise<Machine> {
      const now = Date.now();
      const base: Omit<MachinesTable, 'uid'> = {
        id: newId(now),
        ownerId: owner.id,
        groupId: input.groupId ?? null,
        stackId: input.stackId ?? null,
        provider: input.provider,
        label: input.label,
        meta: JSON.stringify(input.meta ?? {}),
        state: 'NotInitialized',
        stateReason: 'created',
        stateModifiedAt: now,
        queryString: null,
        ipAddress: null,
        credentialId: input.credentialId ?? null,
        provisioners: JSON.stringify(input.provisioners ?? []),
        kiteId: null,
        instanceId: null,
        online: 0,
        lastSeenAt: null,
        linkHolder: null,
        createdAt: now,
        updatedAt: now,
        version: 1,
      };
      // 32 random bits make a clash rare, not impossible: draw again on the unique index's word.
      for (let attempt = 0; ; attempt++) {
        const row = { ...base, uid: machineUid(owner.username, groupSlug, input.provider) };
        try {
          await conn.write(async (trx) => {
            await trx.insertInto('machines').values(row).execute();
            await audit.record(trx, {
              actorId: owner.id,
              action: 'machine.create',
              resourceType: 'machine',
              resourceId: row.id,
              details: { uid: row.uid, provider: row.provider, label: row.label },
            });
          });
          return toMachine(row, []);
        } catch (err) {
          if (!isUniqueViolation(err) || attempt >= 5) throw err;
        }
      }
    },

    /** Machines the viewer owns or that are shared with them (all for a site admin). */
    async list(
      viewer: Viewer,
      query: PageQuery & { stackId?: string; state?: MachineState; provider?: string; ownerId?: string },
    ): Promise<Page<Machine>> {
      let q = db.selectFrom('machines').selectAll();
      if (!viewer.isAdmin) {
        q = q.where((eb) =>
          eb.or([
            eb('ownerId', '=', viewer.id),
            // EXISTS rather than IN: the planner then walks the primary key from the cursor and
            // stops after one page, instead of collecting and sorting every match (10× on SQLite).
            eb.exists(
              eb
                .selectFrom('machineUsers')
                .select('machineUsers.machineId')
                .whereRef('machineUsers.machineId', '=', 'machines.id')
                .where('machineUsers.userId', '=', viewer.id),
            ),
          ]),
        );
      }
      if (query.ownerId) q = q.where('ownerId', '=', query.ownerId);
      if (query.stackId) q = q.where('stackId', '=', query.stackId);
      if (query.state) q = q.where('state', '=', query.state);
      if (query.provider) q = q.where('provider', '=', query.provider);
      const page = await pageById(q, query, (r) => r);
      return { items: await withUsers(page.items), nextCursor: page.nextCursor };
    },

    accessOf(viewer: Viewer, machine: Machine): MachineAccess | undefined {
      if (viewer.isAdmin || machine.ownerId === viewer.id) return 'owner';
      const share = machine.users.find((u) => u.userId === viewer.id);
      if (!share) return undefined;
      return share.readonly ? 'readonly' : 'user';
    },

    async update(
      id: string,
      patch: MachinePatch,
      ifVersion: number | undefined,
      actor: Actor,
    ): Promise<Machine> {
      const set: Record<string, unknown> = { ...patch };
      if (patch.meta !== undefined) set.meta = JSON.stringify(patch.meta);
      if (patch.provisioners !== undefined) set.provisioners = JSON.stringify(patch.provisioners);
      await row.update(id, set, ifVersion, actor, patch);
      return (await get(id))!;
    },

    /**
     * Moves a machine to `state`, only from one of `from` when given (an illegal transition is a
     * conflict and changes nothing). The reason is kept: on failure Kloud records why it went back.
     */
    async setStatus(
      id: string,
      status: { state: MachineState; reason: string },
      options: { from?: MachineState[]; ifVersion?: number },
      actor: Actor,
    ): Promise<Machine> {
      await conn.write(async (trx) => {
        const current = await trx
          .selectFrom('machines')
          .select('state')
          .where('id', '=', id)
          .executeTakeFirst();
        if (!current) throw errors.notFound(`no such machine: ${id}`);
        if (options.from && !options.from.includes(current.state as MachineState)) {
          throw errors.conflict(
            `machine ${id} is ${current.state}; it must be ${options.from.join(' or ')} for this`,
            { state: current.state },
          );
        }
        let q = trx
          .updateTable('machines')
          .set((eb) => ({
            state: status.state,
            stateReason: status.reason,
            stateModifiedAt: Date.now(),
            updatedAt: Date.now(),
            version: eb('version', '+', 1),
          }))
          .where('id', '=', id)
          .where('state', '=', current.state);
        if (options.ifVersion !== undefined) q = q.where('version', '=', options.ifVersion);
        const result = await q.executeTakeFirst();
        if (result.numUpdatedRows === 0n)
          throw errors.stale(`machine ${id} changed while its state was being set; read it again`);
        await audit.record(trx, {
          actorId: actor,
          action: 'machine.status',
          resourceType: 'machine',
          resourceId: id,
          details: { from: current.state, ...status },
        });
      });
      return (await get(id))!;
    },

    /** Kloud's fields: address, kite id, provider instance id. */
    async setRuntime(id: string, patch: MachineRuntimePatch, actor: Actor): Promise<Machine> {
      try {
        await conn.write(async (trx) => {
          await versionedUpdate(trx, 'machines', id, undefined, patch);
          await audit.record(trx, {
            actorId: actor,
            action: 'machine.runtime',
            resourceType: 'machine',
            resourceId: id,
            details: patch,
          });
        });
      } catch (err) {
        if (isUniqueViolation(err))
          throw errors.conflict(`kite id ${patch.kiteId} belongs to another machine`);
        throw err;
      }
      return (await get(id))!;
    },

    /** Heartbeat and link bookkeeping; does not change the version (see the module comment). */
    async setRegistry(
      id: string,
      registry: { online: boolean; linkHolder: string | null; lastSeenAt?: number },
    ): Promise<void> {
      const result = await db
        .updateTable('machines')
        .set({
          online: registry.online ? 1 : 0,
          linkHolder: registry.linkHolder,
          lastSeenAt: registry.lastSeenAt ?? Date.now(),
        })
        .where('id', '=', id)
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) throw errors.notFound(`no such machine: ${id}`);
    },

    /** Deletes the record; refused (conflict) unless no instance can exist (NotInitialized, Terminated). */
    delete: (id: string, ifVersion: number | undefined, actor: Actor) =>
      row.delete(id, ifVersion, actor, async (trx) => {
        const current = await trx
          .selectFrom('machines')
          .select('state')
          .where('id', '=', id)
          .executeTakeFirst();
        if (current && !NO_INSTANCE_STATES.includes(current.state as MachineState)) {
          throw errors.conflict(`machine ${id} is ${current.state}; destroy it before deleting its record`, {
            state: current.state,
          });
        }
      }),

    async share(id: string, user: MachineUser, actor: Actor): Promise<void> {
      const values = { permanent: user.permanent ? 1 : 0, readonly: user.readonly ? 1 : 0 };
      await conn.write(async (trx) => {
        const exists = await trx
          .selectFrom('users')
          .select('id')
          .where('id', '=', user.userId)
          .executeTakeFirst();
        if (!exists) throw errors.notFound(`no such user: ${user.userId}`);
        await trx
          .insertInto('machineUsers')
          .values({ machineId: id, userId: user.userId, ...values, createdAt: Date.now() })
          .onConflict((oc) => oc.columns(['machineId', 'userId']).doUpdateSet(values))
          .execute();
        await audit.record(trx, {
          actorId: actor,
          action: 'machine.share',
          resourceType: 'machine',
          resourceId: id,
          details: { ...user },
        });
      });
    },

    async unshare(id: string, userId: string, actor: Actor): Promise<void> {
      await conn.write(async (trx) => {
        const result = await trx
          .deleteFrom('machineUsers')
          .where('machineId', '=', id)
          .where('userId', '=', userId)
          .executeTakeFirst();
        if (result.numDeletedRows === 0n)
          throw errors.notFound(`machine ${id} is not shared with user ${userId}`);
        await audit.record(trx, {
          actorId: actor,
          action: 'machine.unshare',
          resourceType: 'machine',
          resourceId: id,
          details: { userId },
        });
      });
    },
  };
}

export type MachinesRepo = ReturnType<typeof machinesRepo>;
