/**
 * Credentials (Koding's JCredential + JCredentialData): provider account settings whose secret
 * part is sealed with AES-256-GCM at rest. Access is `owner` (the creator, or a share as owner:
 * read the secret, change, delete, share) or `user` (a share as user: may build with it, never
 * sees it). Site admins get no access to secrets: cloud keys stay with the people who own them.
 */
import type { ExpressionBuilder } from 'kysely';
import type { Viewer } from '../access/viewer.js';
import { open, seal } from '../crypto/cipher.js';
import type { Keyring } from '../crypto/keyring.js';
import { errors } from '../errors.js';
import { newId } from '../ids.js';
import type { CredentialsTable, Database, ShareLevel, ShareTarget } from '../store/schema.js';
import {
  isForeignKeyViolation,
  type Page,
  type PageQuery,
  pageById,
  parseJson,
  versionedUpdate,
} from './common.js';
import { type Actor, type RepoContext, versionedRow } from './context.js';
import { refuseLiveMachines } from './machines.js';

export type Secret = Record<string, string>;

export interface Credential {
  id: string;
  ownerId: string;
  provider: string;
  title: string;
  /** Non-secret settings (region, project id). */
  fields: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
  version: number;
}

export interface CredentialShare {
  targetType: ShareTarget;
  targetId: string;
  level: ShareLevel;
  createdAt: number;
}

/** What a masked secret value reads as. */
export const MASK = '********';

const toCredential = (r: CredentialsTable): Credential => ({ ...r, fields: parseJson(r.fields) });

export function credentialsRepo(ctx: RepoContext, keyring: Keyring) {
  const { conn, audit } = ctx;
  const { db } = conn;
  const row = versionedRow(ctx, 'credentials', 'credential');
  const get = async (id: string): Promise<Credential | undefined> => {
    const row = await db.selectFrom('credentials').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toCredential(row);
  };

  const sharedWith = (viewer: Viewer) => (eb: ExpressionBuilder<Database, 'credentialShares'>) => {
    const mine = [eb.and([eb('targetType', '=', 'user'), eb('targetId', '=', viewer.id)])];
    if (viewer.groupIds.length)
      mine.push(eb.and([eb('targetType', '=', 'group'), eb('targetId', 'in', viewer.groupIds)]));
    return eb.or(mine);
  };

  /** The viewer's level on each of `credentials` (owner, user, or none), in one query. */
  const accessLevels = async (
    viewer: Viewer,
    credentials: Array<{ id: string; ownerId: string }>,
  ): Promise<Map<string, ShareLevel>> => {
    const levels = new Map<string, ShareLevel>();
    const shared = credentials.filter((c) => c.ownerId !== viewer.id).map((c) => c.id);
    const shares = shared.length
      ? await db
          .selectFrom('credentialShares')
          .select(['credentialId', 'level'])
          .where('credentialId', 'in', shared)
          .where(sharedWith(viewer))
          .execute()
      : [];
    for (const s of shares) if (levels.get(s.credentialId) !== 'owner') levels.set(s.credentialId, s.level);
    for (const c of credentials) if (c.ownerId === viewer.id) levels.set(c.id, 'owner');
    return levels;
  };

  const accessOf = async (viewer: Viewer, credentialId: string): Promise<ShareLevel | undefined> => {
    const row = await db
      .selectFrom('credentials')
      .select(['id', 'ownerId'])
      .where('id', '=', credentialId)
      .executeTakeFirst();
    return row && (await accessLevels(viewer, [row])).get(credentialId);
  };

  const secret = async (id: string): Promise<Secret> => {
    const row = await db
      .selectFrom('credentialData')
      .selectAll()
      .where('credentialId', '=', id)
      .executeTakeFirst();
    if (!row) throw errors.notFound(`no such credential: ${id}`);
    return parseJson<Secret>(open(keyring, row, id));
  };

  return {
    get,
    accessOf,
    accessLevels,

    /** The secret in clear. Callers check `accessOf(...) === 'owner'` first; Kloud uses `secretForBuild`. */
    secret,

    /** The secret's keys with every value replaced by MASK: what non-owners are shown. */
    async maskedSecret(id: string): Promise<Secret> {
      return Object.fromEntries(Object.keys(await secret(id)).map((k) => [k, MASK]));
    },

    async create(
      input: { provider: string; title: string; fields?: Record<string, unknown>; data: Secret },
      ownerId: string,
    ): Promise<Credential> {
      const now = Date.now();
      const row: CredentialsTable = {
        id: newId(now),
        ownerId,
        provider: input.provider,
        title: input.title,
        fields: JSON.stringify(input.fields ?? {}),
        createdAt: now,
        updatedAt: now,
        version: 1,
      };
      const sealed = seal(keyring, JSON.stringify(input.data), row.id);
      await conn.write(async (trx) => {
        await trx.insertInto('credentials').values(row).execute();
        await trx
          .insertInto('credentialData')
          .values({ credentialId: row.id, ...sealed, updatedAt: now })
          .execute();
        await audit.record(trx, {
          actorId: ownerId,
          action: 'credential.create',
          resourceType: 'credential',
          resourceId: row.id,
          details: { provider: row.provider, title: row.title, secretKeys: Object.keys(input.data) },
        });
      });
      return toCredential(row);
    },

    /** Credentials the viewer owns or that are shared with them or one of their groups. */
    async list(viewer: Viewer, query: PageQuery & { provider?: string }): Promise<Page<Credential>> {
      let q = db
        .selectFrom('credentials')
        .selectAll()
        .where((eb) =>
          eb.or([
            eb('ownerId', '=', viewer.id),
            eb(
              'id',
              'in',
              eb.selectFrom('credentialShares').select('credentialId').where(sharedWith(viewer)),
            ),
          ]),
        );
      if (query.provider) q = q.where('provider', '=', query.provider);
      return pageById(q, query, toCredential);
    },

    async update(
      id: string,
      patch: { title?: string; fields?: Record<string, unknown>; data?: Secret },
      ifVersion: number | undefined,
      actor: Actor,
    ): Promise<Credential> {
      const set: Record<string, unknown> = {};
      if (patch.title !== undefined) set.title = patch.title;
      if (patch.fields !== undefined) set.fields = JSON.stringify(patch.fields);
      await conn.write(async (trx) => {
        await versionedUpdate(trx, 'credentials', id, ifVersion, set);
        if (patch.data !== undefined) {
          const sealed = seal(keyring, JSON.stringify(patch.data), id);
          await trx
            .updateTable('credentialData')
            .set({ ...sealed, updatedAt: Date.now() })
            .where('credentialId', '=', id)
            .execute();
        }
        const details: Record<string, unknown> = { ...set };
        if (patch.data) details.secretKeys = Object.keys(patch.data);
        await audit.record(trx, {
          actorId: actor,
          action: 'credential.update',
          resourceType: 'credential',
          resourceId: id,
          details,
        });
      });
      return (await get(id))!;
    },

    /** Refused while a machine that may exist at its provider still uses the credential. */
    delete: (id: string, ifVersion: number | undefined, actor: Actor) =>
      row.delete(id, ifVersion, actor, (trx) =>
        refuseLiveMachines(trx, { credentialId: id }, `credential ${id}`),
      ),

    shares: (id: string): Promise<CredentialShare[]> =>
      db
        .selectFrom('credentialShares')
        .select(['targetType', 'targetId', 'level', 'createdAt'])
        .where('credentialId', '=', id)
        .orderBy('createdAt')
        .execute(),

    /** Shares with a user or a group at `level`, replacing an earlier share with the same target. */
    async share(
      id: string,
      target: { targetType: ShareTarget; targetId: string },
      level: ShareLevel,
      actor: Actor,
    ): Promise<void> {
      const table = target.targetType === 'user' ? 'users' : 'groups';
      await conn.write(async (trx) => {
        const exists = await trx
          .selectFrom(table)
          .select('id')
          .where('id', '=', target.targetId)
          .executeTakeFirst();
        if (!exists) throw errors.notFound(`no such ${target.targetType}: ${target.targetId}`);
        try {
          await trx
            .insertInto('credentialShares')
            .values({ credentialId: id, ...target, level, createdAt: Date.now() })
            .onConflict((oc) => oc.columns(['credentialId', 'targetType', 'targetId']).doUpdateSet({ level }))
            .execute();
        } catch (err) {
          if (isForeignKeyViolation(err)) throw errors.notFound(`no such credential: ${id}`);
          throw err;
        }
        await audit.record(trx, {
          actorId: actor,
          action: 'credential.share',
          resourceType: 'credential',
          resourceId: id,
          details: { ...target, level },
        });
      });
    },

    async unshare(
      id: string,
      target: { targetType: ShareTarget; targetId: string },
      actor: Actor,
    ): Promise<void> {
      await conn.write(async (trx) => {
        const result = await trx
          .deleteFrom('credentialShares')
          .where('credentialId', '=', id)
          .where('targetType', '=', target.targetType)
          .where('targetId', '=', target.targetId)
          .executeTakeFirst();
        if (result.numDeletedRows === 0n)
          throw errors.notFound(
            `credential ${id} is not shared with ${target.targetType} ${target.targetId}`,
          );
        await audit.record(trx, {
          actorId: actor,
          action: 'credential.unshare',
          resourceType: 'credential',
          resourceId: id,
          details: target,
        });
      });
    },

    /**
     * The secret in clear for a build Kloud runs on behalf of `viewer`, who must own the credential
     * or have it shared (as owner or user). Every use is written to the audit log.
     */
    async secretForBuild(
      credentialId: string,
      viewer: Viewer,
      purpose: { machineId?: string; jobId?: string } = {},
    ): Promise<Secret> {
      const level = await accessOf(viewer, credentialId);
      if (!level) throw errors.forbidden(`user ${viewer.id} may not use credential ${credentialId}`);
      const value = await secret(credentialId);
      await audit.record(db, {
        actorId: viewer.id,
        action: 'credential.use',
        resourceType: 'credential',
        resourceId: credentialId,
        details: { level, ...purpose },
      });
      return value;
    },
  };
}

export type CredentialsRepo = ReturnType<typeof credentialsRepo>;
