/** Stack templates (Koding's JStackTemplate): content with its sha1, a version and an access level. */
import { newId } from '../ids.js';
import type { AccessLevel, StackTemplatesTable } from '../store/schema.js';
import type { RepoContext } from './context.js';
import { checkGroupLevel, levelledRows, sha1 } from './levelled.js';

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
  const shared = levelledRows(ctx, 'stackTemplates');
  return {
    ...shared,

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
  };
}

export type TemplatesRepo = ReturnType<typeof templatesRepo>;
