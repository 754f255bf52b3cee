/**
 * Who may use a machine, and how: its owner (and a site admin) has `owner`; a user it is shared
 * with has `user`, or `readonly` for a read-only share. Asked on every token issue and every
 * tunnel connection, so an unshare takes effect at once, not when a token expires.
 */
import type { Viewer } from '@kk/backend/access/viewer.js';
import type { Scope } from '@kk/protocol/catalogue/define.js';
import type { Machine } from './machine.js';

const rank: Record<Scope, number> = { readonly: 0, user: 1, owner: 2 };

export function machineAccess(viewer: Pick<Viewer, 'id' | 'isAdmin'>, machine: Machine): Scope | undefined {
  if (machine.ownerId === viewer.id || viewer.isAdmin) return 'owner';
  const share = machine.users.find((u) => u.userId === viewer.id);
  if (!share) return undefined;
  return share.readonly ? 'readonly' : 'user';
}

/** True when `granted` allows at least what `wanted` does. */
export function scopeCovers(granted: Scope, wanted: Scope): boolean {
  return rank[granted] >= rank[wanted];
}
