/**
 * The resources as the API shows them. They document the answers (OpenAPI) and, in tests,
 * every answer is checked against them.
 */
import { machineStateSchema } from '@kk/protocol/catalogue/kloud.js';
import { z } from 'zod';

export const id = z.string().regex(/^[0-9a-f]{28}$/);
const time = z.number().int().describe('milliseconds since the epoch');
const versioned = {
  createdAt: time,
  updatedAt: time,
  version: z.number().int().describe('what the ETag names'),
};

/** A numeric cursor (sequence-ordered lists). */
export const pageCursor = z
  .string()
  .regex(/^\d{1,15}$/)
  .optional()
  .describe('the nextCursor of the previous page');

export const accessLevel = z.enum(['private', 'group', 'public']);
export const shareLevel = z.enum(['owner', 'user']);
export const slugName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'lowercase letters, digits, . _ - (max 63)');

export const userSchema = z
  .object({
    id,
    username: z.string(),
    email: z.string().nullable().describe('shown to the user themself and admins; null for others'),
    displayName: z.string(),
    isAdmin: z.boolean(),
    ...versioned,
  })
  .meta({ id: 'User' });

export const tokenSchema = z
  .object({
    id,
    userId: id,
    name: z.string(),
    createdAt: time,
    lastUsedAt: time.nullable(),
    expiresAt: time.nullable(),
  })
  .meta({ id: 'ApiToken' });

export const groupSchema = z
  .object({ id, slug: z.string(), title: z.string(), ownerId: id.nullable(), ...versioned })
  .meta({ id: 'Group' });

export const memberSchema = z
  .object({ userId: id, username: z.string(), role: z.enum(['admin', 'member']), createdAt: time })
  .meta({ id: 'GroupMember' });

export const credentialSchema = z
  .object({
    id,
    ownerId: id,
    provider: z.string(),
    title: z.string(),
    fields: z.record(z.string(), z.unknown()).describe('non-secret settings'),
    data: z
      .record(z.string(), z.string())
      .describe('the secret, every value masked; owners read it at /data'),
    access: shareLevel.describe("the caller's level"),
    ...versioned,
  })
  .meta({ id: 'Credential' });

export const shareSchema = z
  .object({ targetType: z.enum(['user', 'group']), targetId: id, level: shareLevel, createdAt: time })
  .meta({ id: 'CredentialShare' });

const levelled = { ownerId: id, groupId: id.nullable(), content: z.string(), sha1: z.string(), accessLevel };

export const templateSchema = z
  .object({ id, title: z.string(), description: z.string(), ...levelled, ...versioned })
  .meta({ id: 'StackTemplate' });

export const provisionerSchema = z
  .object({ id, name: z.string(), slug: z.string(), type: z.string(), ...levelled, ...versioned })
  .meta({ id: 'Provisioner' });

export const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'an environment variable name');

export const stackSchema = z
  .object({
    id,
    ownerId: id,
    groupId: id.nullable(),
    templateId: id.nullable(),
    title: z.string(),
    config: z
      .record(z.string(), z.string())
      .describe('exposed to the stack’s machines as environment variables'),
    ...versioned,
  })
  .meta({ id: 'Stack' });

export const machineSchema = z
  .object({
    id,
    uid: z.string(),
    ownerId: id,
    groupId: id.nullable(),
    stackId: id.nullable(),
    provider: z.string(),
    label: z.string(),
    meta: z.record(z.string(), z.unknown()),
    status: z.object({ state: machineStateSchema, reason: z.string(), modifiedAt: time }),
    queryString: z.string().nullable(),
    ipAddress: z.string().nullable(),
    credentialId: id.nullable(),
    provisioners: z.array(id),
    kiteId: z.string().nullable(),
    instanceId: z.string().nullable(),
    registry: z.object({
      online: z.boolean(),
      lastSeenAt: time.nullable(),
      linkHolder: z.string().nullable(),
    }),
    users: z.array(z.object({ userId: id, permanent: z.boolean(), readonly: z.boolean() })),
    access: z.enum(['owner', 'user', 'readonly']).describe("the caller's access"),
    ...versioned,
  })
  .meta({ id: 'Machine' });

export const jobSchema = z
  .object({
    id,
    kind: z.string(),
    machineId: id.nullable(),
    stackId: id.nullable(),
    state: z.enum(['queued', 'running', 'done', 'failed']),
    claimedBy: z.string().nullable(),
    leaseExpiresAt: time.nullable(),
    attempts: z.number().int(),
    maxAttempts: z.number().int(),
    payload: z.unknown(),
    result: z.unknown(),
    error: z.string().nullable(),
    createdAt: time,
    updatedAt: time,
  })
  .meta({ id: 'Job' });

export const eventSchema = z
  .object({
    seq: z.number().int(),
    eventId: z.string(),
    jobId: id.nullable(),
    machineId: id.nullable(),
    message: z.string(),
    percentage: z.number().int().nullable(),
    status: z.string(),
    error: z.string().nullable(),
    at: time,
  })
  .meta({ id: 'JobEvent' });

export const auditSchema = z
  .object({
    seq: z.number().int(),
    at: time,
    actorId: id.nullable(),
    action: z.string(),
    resourceType: z.string(),
    resourceId: z.string(),
    details: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'AuditEntry' });
