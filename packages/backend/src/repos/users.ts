/** Users: the people (and scripts) that own things. */
import { errors } from '../errors.js';
import { newId } from '../ids.js';
import type { UsersTable } from '../store/schema.js';
import { isUniqueViolation, type Page, type PageQuery, pageById } from './common.js';
import { type Actor, type RepoContext, versionedRow } from './context.js';
import { refuseLiveMachines } from './machines.js';

export interface User {
  id: string;
  username: string;
  email: string | null;
  displayName: string;
  isAdmin: boolean;
  createdAt: number;
  updatedAt: number;
  version: number;
}

export interface NewUser {
  username: string;
  email?: string | null;
  displayName?: string;
  isAdmin?: boolean;
}

export type UserPatch = Partial<Pick<User, 'email' | 'displayName' | 'isAdmin'>>;

const toUser = (r: UsersTable): User => ({ ...r, isAdmin: r.isAdmin === 1 });

export function usersRepo(ctx: RepoContext) {
  const { conn, audit } = ctx;
  const { db } = conn;
  const row = versionedRow(ctx, 'users', 'user');
  const get = async (id: string): Promise<User | undefined> => {
    const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toUser(row);
  };
  return {
    get,

    async byUsername(username: string): Promise<User | undefined> {
      const row = await db
        .selectFrom('users')
        .selectAll()
        .where('username', '=', username)
        .executeTakeFirst();
      return row && toUser(row);
    },

    async create(input: NewUser, actor: Actor): Promise<User> {
      const now = Date.now();
      const row: UsersTable = {
        id: newId(now),
        username: input.username,
        email: input.email ?? null,
        displayName: input.displayName ?? input.username,
        isAdmin: input.isAdmin ? 1 : 0,
        createdAt: now,
        updatedAt: now,
        version: 1,
      };
      try {
        await conn.write(async (trx) => {
          await trx.insertInto('users').values(row).execute();
          await audit.record(trx, {
            actorId: actor,
            action: 'user.create',
            resourceType: 'user',
            resourceId: row.id,
            details: { username: row.username, isAdmin: input.isAdmin ?? false },
          });
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw errors.conflict(`username ${input.username} is taken`);
        throw err;
      }
      return toUser(row);
    },

    async list(query: PageQuery & { username?: string }): Promise<Page<User>> {
      let q = db.selectFrom('users').selectAll();
      if (query.username) q = q.where('username', '=', query.username);
      return pageById(q, query, toUser);
    },

    async update(id: string, patch: UserPatch, ifVersion: number | undefined, actor: Actor): Promise<User> {
      const set: Record<string, unknown> = { ...patch };
      if (patch.isAdmin !== undefined) set.isAdmin = patch.isAdmin ? 1 : 0;
      await row.update(id, set, ifVersion, actor, patch);
      return (await get(id))!;
    },

    /** Deletes the user and everything they own; refused while they own machines that may exist. */
    delete: (id: string, ifVersion: number | undefined, actor: Actor) =>
      row.delete(id, ifVersion, actor, (trx) => refuseLiveMachines(trx, { userId: id }, `user ${id}`)),

    async count(): Promise<number> {
      const row = await db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}

export type UsersRepo = ReturnType<typeof usersRepo>;
