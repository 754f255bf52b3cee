/** Stack templates (Koding's JStackTemplate): content with its sha1, a version and an access level. */
import { readableBy, type Viewer } from '../access/viewer.js';
import { newId } from '../ids.js';
import type { AccessLevel, StackTemplatesTable } from '../store/schema.js';
import { type Page, type PageQuery, pageById } from './common.js';
import { type Actor, type RepoContext, versionedRow } from './context.js';
import { checkGroupLevel, sha1, updateLevelled } from './levelled.js';

export type StackTemplate = StackTemplatesTable;

export interface NewStackTemplate {
  title: string;
  description?: string;
  content: string;
  accessLevel?: AccessLevel;
  groupId?: string | null;
}

export type StackTemplatePatch = Partial<NewStackTemplate>;

export function templatesRepo(ctx: RepoContext) {
  const { conn, audit } = ctx;
  const { db } = conn;
  const row = versionedRow(ctx, 'stackTemplates', 'stackTemplate');
  const get = (id: string): Promise<StackTemplate | undefined> =>
    db.selectFrom('stackTemplates').selectAll().where('id', '=', id).executeTakeFirst();
  return {
    get,

    async create(input: NewStackTemplate, ownerId: string): Promise<StackTemplate> {
      checkGroupLevel(input.accessLevel, input.groupId);
      const now = Date.now();
      const row: StackTemplate = {
        id: newId(now),
        ownerId,
        groupId: input.groupId ?? null,
        title: input.title,
        description: input.description ?? '',
        content: input.content,
        sha1: sha1(input.content),
        accessLevel: input.accessLevel ?? 'private',
        createdAt: now,
        updatedAt: now,
        version: 1,
      };
      await conn.write(async (trx) => {
        await trx.insertInto('stackTemplates').values(row).execute();
        await audit.record(trx, {
          actorId: ownerId,
          action: 'stackTemplate.create',
          resourceType: 'stackTemplate',
          resourceId: row.id,
          details: { title: row.title, sha1: row.sha1, accessLevel: row.accessLevel },
        });
      });
      return row;
    },

    async list(
      viewer: Viewer,
      query: PageQuery & { ownerId?: string; accessLevel?: AccessLevel; groupId?: string },
    ): Promise<Page<StackTemplate>> {
      let q = db.selectFrom('stackTemplates').selectAll().where(readableBy(viewer));
      if (query.ownerId) q = q.where('ownerId', '=', query.ownerId);
      if (query.accessLevel) q = q.where('accessLevel', '=', query.accessLevel);
      if (query.groupId) q = q.where('groupId', '=', query.groupId);
      return pageById(q, query, (r) => r);
    },

    async update(
      id: string,
      patch: StackTemplatePatch,
      ifVersion: number | undefined,
      actor: Actor,
    ): Promise<StackTemplate> {
      await updateLevelled(ctx, 'stackTemplates', id, patch, ifVersion, actor);
      return (await get(id))!;
    },

    delete: row.delete,
  };
}

export type TemplatesRepo = ReturnType<typeof templatesRepo>;
