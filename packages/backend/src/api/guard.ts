/** Small checks route handlers share. */
import type { Viewer } from '../access/viewer.js';
import { errors } from '../errors.js';

/** The value, or not_found naming what was looked for. Things a caller may not see are "not found" too. */
export function found<T>(value: T | undefined | false, what: string, id: string): T {
  if (value === undefined || value === false) throw errors.notFound(`no such ${what}: ${id}`);
  return value;
}

/** forbidden unless `allowed`; for callers who may see a thing but not do this to it. */
export function allow(allowed: boolean, message: string): void {
  if (!allowed) throw errors.forbidden(message);
}

/** A caller may attach a resource only to a group they belong to. */
export function allowGroup(viewer: Viewer, groupId: string | null | undefined): void {
  if (groupId)
    allow(viewer.isAdmin || viewer.groupIds.includes(groupId), `you are not a member of group ${groupId}`);
}
