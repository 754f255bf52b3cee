/**
 * API tokens: `kk_<id>_<secret>`. Only sha256(secret) is stored; a presented token is found by
 * its id and its secret's hash compared in constant time, so neither the lookup nor the compare
 * reveals how much of a guess was right.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { errors } from '../errors.js';
import { isId, newId } from '../ids.js';
import type { ApiTokensTable } from '../store/schema.js';
import type { Actor, RepoContext } from './context.js';

export interface ApiToken {
  id: string;
  userId: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
  expiresAt: number | null;
}

const toToken = ({ secretHash: _, ...rest }: ApiTokensTable): ApiToken => rest;

const hash = (secret: string) => createHash('sha256').update(secret).digest();

/** How stale `lastUsedAt` may get before a request writes it again (saves a write per request). */
const LAST_USED_RESOLUTION_MS = 60_000;

export function tokensRepo(ctx: RepoContext) {
  const { conn, audit } = ctx;
  const { db } = conn;
  return {
    /** Creates a token; the returned `token` string is shown once and cannot be recovered. */
    async create(
      userId: string,
      input: { name: string; expiresAt?: number | null },
      actor: Actor,
    ): Promise<{ token: string; apiToken: ApiToken }> {
      const now = Date.now();
      const secret = randomBytes(32).toString('base64url');
      const row: ApiTokensTable = {
        id: newId(now),
        userId,
        name: input.name,
        secretHash: hash(secret).toString('hex'),
        createdAt: now,
        lastUsedAt: null,
        expiresAt: input.expiresAt ?? null,
      };
      await conn.write(async (trx) => {
        await trx.insertInto('apiTokens').values(row).execute();
        await audit.record(trx, {
          actorId: actor,
          action: 'token.create',
          resourceType: 'token',
          resourceId: row.id,
          details: { userId, name: input.name },
        });
      });
      return { token: `kk_${row.id}_${secret}`, apiToken: toToken(row) };
    },

    /** The token a bearer string names, when it is genuine and unexpired; undefined otherwise. */
    async verify(bearer: string): Promise<ApiToken | undefined> {
      const match = /^kk_([0-9a-f]{28})_([A-Za-z0-9_-]{43})$/.exec(bearer);
      if (!match || !isId(match[1]!)) return undefined;
      const row = await db.selectFrom('apiTokens').selectAll().where('id', '=', match[1]!).executeTakeFirst();
      const presented = hash(match[2]!);
      const stored = Buffer.from(row?.secretHash ?? '0'.repeat(64), 'hex');
      const same = timingSafeEqual(presented, stored);
      if (!row || !same) return undefined;
      const now = Date.now();
      if (row.expiresAt !== null && row.expiresAt <= now) return undefined;
      if (row.lastUsedAt === null || now - row.lastUsedAt > LAST_USED_RESOLUTION_MS) {
        await db.updateTable('apiTokens').set({ lastUsedAt: now }).where('id', '=', row.id).execute();
        row.lastUsedAt = now;
      }
      return toToken(row);
    },

    async get(id: string): Promise<ApiToken | undefined> {
      const row = await db.selectFrom('apiTokens').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toToken(row);
    },

    async listForUser(userId: string): Promise<ApiToken[]> {
      const rows = await db
        .selectFrom('apiTokens')
        .selectAll()
        .where('userId', '=', userId)
        .orderBy('id')
        .execute();
      return rows.map(toToken);
    },

    async delete(id: string, actor: Actor): Promise<void> {
      await conn.write(async (trx) => {
        const result = await trx.deleteFrom('apiTokens').where('id', '=', id).executeTakeFirst();
        if (result.numDeletedRows === 0n) throw errors.notFound(`no such token: ${id}`);
        await audit.record(trx, {
          actorId: actor,
          action: 'token.delete',
          resourceType: 'token',
          resourceId: id,
          details: {},
        });
      });
    },
  };
}

export type TokensRepo = ReturnType<typeof tokensRepo>;
