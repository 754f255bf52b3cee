/**
 * Stacks (Koding's JStack): a user's instance of a template, with the configuration shared by its
 * machines (exposed to them as environment variables). Visible to the owner and site admins.
 */
import type { Viewer } from '../access/viewer.js';
import { newId } from '../ids.js';
import type { StacksTable } from '../store/schema.js';
import { type Page, type PageQuery, pageById, parseJson } from './common.js';
import { type Actor, type RepoContext, versionedRow } from './context.js';

export interface Stack {
  id: string;
  ownerId: string;
  groupId: string | null;
  templateId: string | null;
  title: string;
  config: Record<string, string>;
  createdAt: number;
  updatedAt: number;
  version: number;
}

export interface NewStack {
  title: string;
  templateId?: string | null;
  groupId?: string | null;
  config?: Record<string, string>;
}

const toStack = (r: StacksTable): Stack => ({ ...r, config: parseJson(r.config) });

export function stacksRepo(ctx: RepoContext) {
  const { conn, audit } = ctx;
  const { db } = conn;
  const row = versionedRow(ctx, 'stacks', 'stack');
  const get = async (id: string): Promise<Stack | undefined> => {
    const row = await db.selectFrom('stacks').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toStack(row);
  };
  return {
    get,

    async create(input: NewStack, ownerId: string): Promise<Stack> {
      const now = Date.now();
      const row: StacksTable = {
        id: newId(now),
        ownerId,
        groupId: input.groupId ?? null,
        templateId: input.templateId ?? null,
        title: input.title,
        config: JSON.stringify(input.config ?? {}),
        createdAt: now,
        updatedAt: now,
        version: 1,
      };
      await conn.write(async (trx) => {
        await trx.insertInto('stacks').values(row).execute();
        await audit.record(trx, {
          actorId: ownerId,
          action: 'stack.create',
          resourceType: 'stack',
          resourceId: row.id,
          details: { title: row.title, templateId: row.templateId },
        });
      });
      return toStack(row);
    },

    async list(
      viewer: Viewer,
      query: PageQuery & { templateId?: string; groupId?: string; ownerId?: string },
    ): Promise<Page<Stack>> {
      let q = db.selectFrom('stacks').selectAll();
      if (!viewer.isAdmin) q = q.where('ownerId', '=', viewer.id);
      if (query.ownerId) q = q.where('ownerId', '=', query.ownerId);
      if (query.templateId) q = q.where('templateId', '=', query.templateId);
      if (query.groupId) q = q.where('groupId', '=', query.groupId);
      return pageById(q, query, toStack);
    },

    async update(
      id: string,
      patch: Partial<Pick<Stack, 'title' | 'config' | 'templateId'>>,
      ifVersion: number | undefined,
      actor: Actor,
    ): Promise<Stack> {
      const set: Record<string, unknown> = { ...patch };
      if (patch.config !== undefined) set.config = JSON.stringify(patch.config);
      // Config values may be secrets handed to machines: the audit log names the keys only.
      await row.update(id, set, ifVersion, actor, {
        ...patch,
        config: patch.config && Object.keys(patch.config),
      });
      return (await get(id))!;
    },

    delete: row.delete,
  };
}

export type StacksRepo = ReturnType<typeof stacksRepo>;
