/** What stack templates and provisioners share: content checksums and the group access level's rule. */
import { createHash } from 'node:crypto';
import { errors } from '../errors.js';
import type { AccessLevel } from '../store/schema.js';
import { type Actor, type RepoContext, versionedRow } from './context.js';

/** The sha1 (hex) of content, kept beside it so callers can tell whether it changed. */
export const sha1 = (content: string) => createHash('sha1').update(content).digest('hex');

/** A `group` access level needs the group it opens to. */
export function checkGroupLevel(level: AccessLevel | undefined, groupId: string | null | undefined): void {
  if (level === 'group' && !groupId) throw errors.invalid('accessLevel "group" needs a groupId');
}

/**
 * The update both levelled tables share: content gets a fresh sha1, a `group` level keeps its
 * group, and the audit entry leaves the (possibly long) content out.
 */
export async function updateLevelled(
  ctx: RepoContext,
  table: 'stackTemplates' | 'provisioners',
  id: string,
  patch: { content?: string; accessLevel?: AccessLevel; groupId?: string | null },
  ifVersion: number | undefined,
  actor: Actor,
): Promise<void> {
  const set: Record<string, unknown> = { ...patch };
  if (patch.content !== undefined) set.sha1 = sha1(patch.content);
  const current = await ctx.conn.db
    .selectFrom(table)
    .select(['accessLevel', 'groupId'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (current) {
    checkGroupLevel(
      patch.accessLevel ?? current.accessLevel,
      patch.groupId === undefined ? current.groupId : patch.groupId,
    );
  }
  const { content: _, ...shown } = set;
  await versionedRow(ctx, table, table === 'provisioners' ? 'provisioner' : 'stackTemplate').update(
    id,
    set,
    ifVersion,
    actor,
    shown,
  );
}
