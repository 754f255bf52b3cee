/**
 * Who is asking, and the rules every read and write is checked against.
 *
 * Shared resources (stack templates, provisioners) carry an access level: `private` — the owner
 * only; `group` — the owner and members of the resource's group; `public` — every user. Only the
 * owner (or a site admin) changes or deletes them. Something a viewer may not read does not exist
 * for them: the API answers 404, never 403, so ids of private things do not leak.
 */
import { type ExpressionBuilder, sql } from 'kysely';
import type { AccessLevel } from '../store/schema.js';

export interface Viewer {
  id: string;
  isAdmin: boolean;
  /** Groups the viewer is a member of (any role). */
  groupIds: string[];
}

export interface LevelledResource {
  ownerId: string;
  groupId: string | null;
  accessLevel: AccessLevel;
}

export function canRead(viewer: Viewer, r: LevelledResource): boolean {
  if (viewer.isAdmin || r.ownerId === viewer.id || r.accessLevel === 'public') return true;
  return r.accessLevel === 'group' && r.groupId !== null && viewer.groupIds.includes(r.groupId);
}

export function canWrite(viewer: Viewer, r: { ownerId: string }): boolean {
  return viewer.isAdmin || r.ownerId === viewer.id;
}

/** The SQL form of `canRead`, for list queries over a table with owner_id, group_id, access_level. */
export function readableBy(viewer: Viewer) {
  // biome-ignore lint/suspicious/noExplicitAny: shared by the tables that have these three columns
  return (eb: ExpressionBuilder<any, any>) => {
    if (viewer.isAdmin) return sql<boolean>`1 = 1`;
    const alternatives = [eb('ownerId', '=', viewer.id), eb('accessLevel', '=', 'public')];
    if (viewer.groupIds.length > 0) {
      alternatives.push(eb.and([eb('accessLevel', '=', 'group'), eb('groupId', 'in', viewer.groupIds)]));
    }
    return eb.or(alternatives);
  };
}
