/** Groups: teams of users with roles. The creator is the group's first admin. */
import type { Viewer } from '../access/viewer.js';
import { errors } from '../errors.js';
import { newId } from '../ids.js';
import type { GroupRole, GroupsTable } from '../store/schema.js';
import { isForeignKeyViolation, isUniqueViolation, type Page, type PageQuery, pageById } from './common.js';
import { type Actor, type RepoContext, versionedRow } from './context.js';

export type Group = GroupsTable;

export interface GroupMember {
  userId: string;
  username: string;
  role: GroupRole;
  createdAt: number;
}

export function groupsRepo(ctx: RepoContext) {
  const { conn, audit } = ctx;
  const { db } = conn;
  const row = versionedRow(ctx, 'groups', 'group');
  const get = (id: string): Promise<Group | undefined> =>
    db.selectFrom('groups').selectAll().where('id', '=', id).executeTakeFirst();

  return {
    get,

    bySlug: (slug: string): Promise<Group | undefined> =>
      db.selectFrom('groups').selectAll().where('slug', '=', slug).executeTakeFirst(),

    async create(input: { slug: string; title?: string }, ownerId: string): Promise<Group> {
      const now = Date.now();
      const row: Group = {
        id: newId(now),
        slug: input.slug,
        title: input.title ?? input.slug,
        ownerId,
        createdAt: now,
        updatedAt: now,
        version: 1,
      };
      try {
        await conn.write(async (trx) => {
          await trx.insertInto('groups').values(row).execute();
          await trx
            .insertInto('groupMembers')
            .values({ groupId: row.id, userId: ownerId, role: 'admin', createdAt: now })
            .execute();
          await audit.record(trx, {
            actorId: ownerId,
            action: 'group.create',
            resourceType: 'group',
            resourceId: row.id,
            details: { slug: row.slug },
          });
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw errors.conflict(`group slug ${input.slug} is taken`);
        throw err;
      }
      return row;
    },

    /** Groups the viewer belongs to (every group for a site admin). */
    async list(viewer: Viewer, query: PageQuery): Promise<Page<Group>> {
      let q = db.selectFrom('groups').selectAll();
      if (!viewer.isAdmin) {
        q = q.where('id', 'in', (eb) =>
          eb.selectFrom('groupMembers').select('groupId').where('userId', '=', viewer.id),
        );
      }
      return pageById(q, query, (r) => r);
    },

    async update(
      id: string,
      patch: { title?: string },
      ifVersion: number | undefined,
      actor: Actor,
    ): Promise<Group> {
      await row.update(id, patch, ifVersion, actor);
      return (await get(id))!;
    },

    delete: row.delete,

    /** The ids of every group `userId` is a member of. */
    async idsOf(userId: string): Promise<string[]> {
      const rows = await db
        .selectFrom('groupMembers')
        .select('groupId')
        .where('userId', '=', userId)
        .execute();
      return rows.map((r) => r.groupId);
    },

    async roleOf(groupId: string, userId: string): Promise<GroupRole | undefined> {
      const row = await db
        .selectFrom('groupMembers')
        .select('role')
        .where('groupId', '=', groupId)
        .where('userId', '=', userId)
        .executeTakeFirst();
      return row?.role;
    },

    async members(groupId: string): Promise<GroupMember[]> {
      return db
        .selectFrom('groupMembers')
        .innerJoin('users', 'users.id', 'groupMembers.userId')
        .select(['groupMembers.userId', 'users.username', 'groupMembers.role', 'groupMembers.createdAt'])
        .where('groupMembers.groupId', '=', groupId)
        .orderBy('users.username')
        .execute();
    },

    /** Adds a member or changes their role. */
    async setMember(groupId: string, userId: string, role: GroupRole, actor: Actor): Promise<void> {
      try {
        await conn.write(async (trx) => {
          await trx
            .insertInto('groupMembers')
            .values({ groupId, userId, role, createdAt: Date.now() })
            .onConflict((oc) => oc.columns(['groupId', 'userId']).doUpdateSet({ role }))
            .execute();
          await audit.record(trx, {
            actorId: actor,
            action: 'group.member.set',
            resourceType: 'group',
            resourceId: groupId,
            details: { userId, role },
          });
        });
      } catch (err) {
        if (isForeignKeyViolation(err)) throw errors.notFound(`no such user: ${userId}`);
        throw err;
      }
    },

    /** Removes a member; the last admin cannot leave, so a group always has someone to run it. */
    async removeMember(groupId: string, userId: string, actor: Actor): Promise<void> {
      await conn.write(async (trx) => {
        const admins = await trx
          .selectFrom('groupMembers')
          .select('userId')
          .where('groupId', '=', groupId)
          .where('role', '=', 'admin')
          .execute();
        if (admins.length === 1 && admins[0]!.userId === userId) {
          throw errors.conflict(
            'the last admin of a group cannot be removed; make another member admin first',
          );
        }
        const result = await trx
          .deleteFrom('groupMembers')
          .where('groupId', '=', groupId)
          .where('userId', '=', userId)
          .executeTakeFirst();
        if (result.numDeletedRows === 0n)
          throw errors.notFound(`user ${userId} is not a member of group ${groupId}`);
        await audit.record(trx, {
          actorId: actor,
          action: 'group.member.remove',
          resourceType: 'group',
          resourceId: groupId,
          details: { userId },
        });
      });
    },
  };
}

export type GroupsRepo = ReturnType<typeof groupsRepo>;
