/** What stack templates and provisioners share: content checksums and the group access level's rule. */
import { createHash } from 'node:crypto';
import { readableBy, type Viewer } from '../access/viewer.js';
import { errors } from '../errors.js';
import type { AccessLevel, Database } from '../store/schema.js';
import { type Page, type PageQuery, pageById, whereEqual } from './common.js';
import { type Actor, type RepoContext, versionedRow } from './context.js';

/** The sha1 (hex) of content, kept beside it so callers can tell whether it changed. */
export const sha1 = (content: string) => createHash('sha1').update(content).digest('hex');

/** A `group` access level needs the group it opens to. */
export function checkGroupLevel(level: AccessLevel | undefined, groupId: string | null | undefined): void {
  if (level === 'group' && !groupId) throw errors.invalid('accessLevel "group" needs a groupId');
}

type LevelledTable = 'stackTemplates' | 'provisioners';

export interface LevelledFilter extends PageQuery {
  ownerId?: string;
  accessLevel?: AccessLevel;
  groupId?: string;
}

/**
 * What stack templates and provisioners share: read one, list what a viewer may read, update
 * (content gets a fresh sha1, a `group` level keeps its group, the audit entry leaves the
 * possibly long content out) and delete.
 */
export function levelledRows<T extends LevelledTable>(ctx: RepoContext, table: T) {
  type Row = Database[T];
  const { db } = ctx.conn;
  const row = versionedRow(ctx, table, table === 'provisioners' ? 'provisioner' : 'stackTemplate');
  // Kysely cannot follow a union of table names; both tables have every column used here.
  const from = () => db.selectFrom(table as 'stackTemplates');
  const get = async (id: string): Promise<Row | undefined> =>
    (await from().selectAll().where('id', '=', id).executeTakeFirst()) as Row | undefined;

  return {
    get,

    async list(viewer: Viewer, query: LevelledFilter): Promise<Page<Row>> {
      const q = whereEqual(from().selectAll().where(readableBy(viewer)), {
        ownerId: query.ownerId,
        accessLevel: query.accessLevel,
        groupId: query.groupId,
      });
      return pageById(q, query, (r) => r as Row);
    },

    async update(
      id: string,
      patch: { content?: string; accessLevel?: AccessLevel; groupId?: string | null },
      ifVersion: number | undefined,
      actor: Actor,
    ): Promise<Row> {
      const set: Record<string, unknown> = { ...patch };
      if (patch.content !== undefined) set.sha1 = sha1(patch.content);
      const current = await get(id);
      if (current) {
        checkGroupLevel(
          patch.accessLevel ?? current.accessLevel,
          patch.groupId === undefined ? current.groupId : patch.groupId,
        );
      }
      const { content: _, ...shown } = set;
      await row.update(id, set, ifVersion, actor, shown);
      return (await get(id))!;
    },

    delete: row.delete,
  };
}
