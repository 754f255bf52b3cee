/**
 * The tables as Kysely sees them (camelCase here, snake_case in the database via CamelCasePlugin).
 *
 * One schema for both stores, so it uses only types both have: text, integer, bigint. Times are
 * milliseconds since the epoch (bigint), booleans are 0/1 integers, JSON is text. Every mutable
 * row carries `version`, bumped on each change; the API's ETag is made from it.
 */
import type { Generated } from 'kysely';

export type AccessLevel = 'private' | 'group' | 'public';
export type GroupRole = 'admin' | 'member';
export type ShareLevel = 'owner' | 'user';
export type ShareTarget = 'user' | 'group';
export type JobState = 'queued' | 'running' | 'done' | 'failed';

export interface UsersTable {
  id: string;
  username: string;
  email: string | null;
  displayName: string;
  isAdmin: number;
  createdAt: number;
  updatedAt: number;
  version: number;
}

export interface ApiTokensTable {
  id: string;
  userId: string;
  name: string;
  /** sha256 (hex) of the token's secret part; the secret itself is never stored. */
  secretHash: string;
  createdAt: number;
  lastUsedAt: number | null;
  expiresAt: number | null;
}

export interface GroupsTable {
  id: string;
  slug: string;
  title: string;
  /** Who created it; null once they are deleted. */
  ownerId: string | null;
  createdAt: number;
  updatedAt: number;
  version: number;
}

export interface GroupMembersTable {
  groupId: string;
  userId: string;
  role: GroupRole;
  createdAt: number;
}

export interface CredentialsTable {
  id: string;
  ownerId: string;
  provider: string;
  title: string;
  /** Non-secret settings (region, project) as JSON. */
  fields: string;
  createdAt: number;
  updatedAt: number;
  version: number;
}

export interface CredentialDataTable {
  credentialId: string;
  /** Which key sealed `sealed`; rotation rewrites both. */
  keyId: string;
  /** base64(iv ‖ tag ‖ ciphertext) of the secret JSON, AES-256-GCM, credential id as AAD. */
  sealed: string;
  updatedAt: number;
}

export interface CredentialSharesTable {
  credentialId: string;
  targetType: ShareTarget;
  targetId: string;
  level: ShareLevel;
  createdAt: number;
}

export interface StackTemplatesTable {
  id: string;
  ownerId: string;
  groupId: string | null;
  title: string;
  description: string;
  content: string;
  sha1: string;
  accessLevel: AccessLevel;
  createdAt: number;
  updatedAt: number;
  version: number;
}

export interface StacksTable {
  id: string;
  ownerId: string;
  groupId: string | null;
  templateId: string | null;
  title: string;
  /** Key/value JSON exposed as environment variables to the stack's machines. */
  config: string;
  createdAt: number;
  updatedAt: number;
  version: number;
}

export interface MachinesTable {
  id: string;
  uid: string;
  ownerId: string;
  groupId: string | null;
  stackId: string | null;
  provider: string;
  label: string;
  meta: string;
  state: string;
  stateReason: string;
  stateModifiedAt: number;
  queryString: string | null;
  ipAddress: string | null;
  credentialId: string | null;
  /** Provisioner ids (JSON array) run after build. */
  provisioners: string;
  /** The machine's kite id: the `jti` of its kite.key. */
  kiteId: string | null;
  /** The provider's id for the instance (EC2 instance id, droplet id, local dir). */
  instanceId: string | null;
  online: number;
  lastSeenAt: number | null;
  /** Which Kloud process holds the machine's Klient link. */
  linkHolder: string | null;
  createdAt: number;
  updatedAt: number;
  version: number;
}

export interface MachineUsersTable {
  machineId: string;
  userId: string;
  permanent: number;
  readonly: number;
  createdAt: number;
}

export interface ProvisionersTable {
  id: string;
  ownerId: string;
  groupId: string | null;
  name: string;
  slug: string;
  type: string;
  content: string;
  sha1: string;
  accessLevel: AccessLevel;
  createdAt: number;
  updatedAt: number;
  version: number;
}

export interface MachineLeasesTable {
  machineId: string;
  holder: string;
  acquiredAt: number;
  expiresAt: number;
}

export interface JobsTable {
  id: string;
  kind: string;
  machineId: string | null;
  stackId: string | null;
  state: JobState;
  claimedBy: string | null;
  leaseExpiresAt: number | null;
  attempts: number;
  maxAttempts: number;
  payload: string;
  result: string | null;
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface EventsTable {
  seq: Generated<number>;
  eventId: string;
  jobId: string | null;
  machineId: string | null;
  message: string;
  percentage: number | null;
  status: string;
  error: string | null;
  at: number;
}

export interface AuditLogTable {
  seq: Generated<number>;
  at: number;
  actorId: string | null;
  action: string;
  resourceType: string;
  resourceId: string;
  details: string;
}

export interface Database {
  users: UsersTable;
  apiTokens: ApiTokensTable;
  groups: GroupsTable;
  groupMembers: GroupMembersTable;
  credentials: CredentialsTable;
  credentialData: CredentialDataTable;
  credentialShares: CredentialSharesTable;
  stackTemplates: StackTemplatesTable;
  stacks: StacksTable;
  machines: MachinesTable;
  machineUsers: MachineUsersTable;
  provisioners: ProvisionersTable;
  machineLeases: MachineLeasesTable;
  jobs: JobsTable;
  events: EventsTable;
  auditLog: AuditLogTable;
}
