/**
 * Provisioners (Koding's JProvisioner): shell scripts run on a machine after its build, reachable
 * by slug `username/name`, with the sha1 of their content and the same access levels as templates.
 */
import { errors } from '../errors.js';
import { newId } from '../ids.js';
import type { AccessLevel, ProvisionersTable } from '../store/schema.js';
import { isUniqueViolation } from './common.js';
import type { RepoContext } from './context.js';
import { checkGroupLevel, levelledRows, sha1 } from './levelled.js';

export type Provisioner = ProvisionersTable;

export interface NewProvisioner {
  name: string;
  content: string;
  type?: 'shell';
  accessLevel?: AccessLevel;
  groupId?: string | null;
}

export type ProvisionerPatch = Partial<Omit<NewProvisioner, 'name'>>;

export function provisionersRepo(ctx: RepoContext) {
  const { conn, audit } = ctx;
  const { db } = conn;
  const shared = levelledRows(ctx, 'provisioners');
  return {
    ...shared,

    bySlug: (slug: string): Promise<Provisioner | undefined> =>
      db.selectFrom('provisioners').selectAll().where('slug', '=', slug).executeTakeFirst(),

    async create(input: NewProvisioner, owner: { id: string; username: string }): Promise<Provisioner> {
      checkGroupLevel(input.accessLevel, input.groupId);
      const now = Date.now();
      const row: Provisioner = {
        id: newId(now),
        ownerId: owner.id,
        groupId: input.groupId ?? null,
        name: input.name,
        slug: `${owner.username}/${input.name}`,
        type: input.type ?? 'shell',
        content: input.content,
        sha1: sha1(input.content),
        accessLevel: input.accessLevel ?? 'private',
        createdAt: now,
        updatedAt: now,
        version: 1,
      };
      try {
        await conn.write(async (trx) => {
          await trx.insertInto('provisioners').values(row).execute();
          await audit.record(trx, {
            actorId: owner.id,
            action: 'provisioner.create',
            resourceType: 'provisioner',
            resourceId: row.id,
            details: { slug: row.slug, sha1: row.sha1, accessLevel: row.accessLevel },
          });
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw errors.conflict(`provisioner ${row.slug} exists`);
        throw err;
      }
      return row;
    },
  };
}

export type ProvisionersRepo = ReturnType<typeof provisionersRepo>;
