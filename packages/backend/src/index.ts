/**
 * @kk/backend — storage (SQLite or PostgreSQL), models, credential encryption and the REST API.
 * See README.md for what each piece promises.
 */

export { canRead, canWrite, type Viewer } from './access/viewer.js';
export { authenticate, type Principal, resolveBearer } from './api/auth.js';
export {
  defineRoute,
  idParams,
  type RouteContext,
  type RouteRegistry,
  type RouteSpec,
} from './api/define.js';
export { errorBodySchema, errorHandler, sendError, toBackendError } from './api/errors.js';
export { etagOf, ifMatchVersion, setEtag } from './api/etag.js';
export { openApiDocument } from './api/openapi.js';
export { pageOf, pageQuery } from './api/pagination.js';
export * as apiSchemas from './api/schemas.js';
// The REST API, and the pieces Kloud reuses for its own routes
export { type ApiOptions, buildApi, registerApi } from './api/server.js';
// First start
export { type BootstrapResult, bootstrapAdmin } from './bootstrap.js';
// Configuration and errors
export { type BackendConfig, backendConfigFromEnv, ConfigError, DEFAULT_DATA_DIR } from './config.js';
// Credential keys
export { envKeyring, fileKeyring, type Keyring, openKeyring } from './crypto/keyring.js';
export { type RotationResult, rotateCredentialKey } from './crypto/rotate.js';
export { BackendError, type ErrorCode, ErrorStatus, errors } from './errors.js';
export type { AuditEntry } from './repos/audit.js';
export type { Page, PageQuery } from './repos/common.js';
export type { Actor } from './repos/context.js';
export { type Credential, type CredentialShare, MASK, type Secret } from './repos/credentials.js';
export type { JobEvent, NewJobEvent } from './repos/events.js';
export type { Group, GroupMember } from './repos/groups.js';
export type { Job, NewJob } from './repos/jobs.js';
export type { Lease } from './repos/leases.js';
export {
  MACHINE_STATES,
  type Machine,
  type MachineAccess,
  type MachineRuntimePatch,
  type MachineState,
  type MachineUser,
  machineUid,
  type NewMachine,
} from './repos/machines.js';
export type { NewProvisioner, Provisioner } from './repos/provisioners.js';
export type { NewStack, Stack } from './repos/stacks.js';
export type { NewStackTemplate, StackTemplate } from './repos/templates.js';
export type { ApiToken } from './repos/tokens.js';
export type { NewUser, User, UserPatch } from './repos/users.js';
export type { AccessLevel, GroupRole, JobState, ShareLevel, ShareTarget } from './store/schema.js';
// The store and its parts
export { openStore, type Store, type StoreOptions } from './store/store.js';
