/**
 * The one interface every provider implements (DESIGN §5). Nothing above this file
 * knows which cloud a machine lives on: the lifecycle, stacks, jobs and the reconciler
 * talk to providers only through `Provider`.
 *
 * Errors: a provider throws `ProviderError` (see ./errors.ts) with a kind the lifecycle
 * can act on — `user` (bad spec: unknown image/size; do not retry), `credential`
 * (bad or insufficient credentials), `transient` (throttling, 5xx, timeouts: already
 * retried inside the provider with backoff and jitter before surfacing), `notFound`
 * (the instance is gone), `internal`.
 */

/** The real state at the provider, already mapped to Kloud's machine states. */
export type ProviderState =
  | 'Building'
  | 'Starting'
  | 'Running'
  | 'Stopping'
  | 'Stopped'
  | 'Rebooting'
  | 'Terminating'
  | 'Terminated'
  | 'Unknown';

/** A credential's decrypted secret data plus anything `bootstrap` stored for it. */
export interface ProviderCredential {
  id: string;
  provider: string;
  /** Decrypted secret fields, provider-specific (aws: accessKeyId, secretAccessKey, region; do: token). */
  secret: Record<string, string>;
  /** Outputs of a previous `bootstrap` (key pair name, security group id, subnet id …). */
  bootstrap?: Record<string, string>;
}

/** What to create: already validated against the stack template. */
export interface MachineSpec {
  /** Kloud's machine id; providers tag instances with it so the reconciler can find them. */
  machineId: string;
  /** Human label, used as the instance name. */
  label: string;
  size?: string;
  image?: string;
  region?: string;
  /** Provider-specific extras from the template (ssh key ids, disk size …). */
  extra?: Record<string, unknown>;
  /** Idempotency key: the same token for a retried create never makes a second instance. */
  idempotencyToken: string;
}

/** How a running Klient on this machine will reach Kloud, and how Kloud may reach it. */
export interface InstanceInfo {
  /** The provider's own id (EC2 instance id, droplet id, local directory name). */
  instanceId: string;
  state: ProviderState;
  ipAddress?: string;
  /** Provider-specific facts kept in Machine.meta (instance type, zone, image …). */
  meta?: Record<string, unknown>;
}

export interface AvailableOption {
  name: string;
  title: string;
  spec?: Record<string, unknown>;
  price?: string;
}

export interface Available {
  sizes: AvailableOption[];
  regions: AvailableOption[];
  images: AvailableOption[];
}

/** One instance the provider has that carries Kloud's tags, for reconciliation. */
export interface TaggedInstance extends InstanceInfo {
  /** The Kloud machine id found in the instance's tags, if any. */
  machineId?: string;
}

export interface Provider {
  /** `local`, `aws`, `digitalocean`. */
  readonly name: string;
  /** Checks the credential works (a cheap authenticated call); throws ProviderError kind `credential`. */
  validate(credential: ProviderCredential): Promise<void>;
  /** Creates per-credential resources (key pair, security group …) once; returns outputs to store. */
  bootstrap(credential: ProviderCredential): Promise<Record<string, string>>;
  /** Creates the instance with the given user data (a #cloud-config or the local install script). */
  create(credential: ProviderCredential, spec: MachineSpec, userData: string): Promise<InstanceInfo>;
  start(credential: ProviderCredential, instanceId: string): Promise<InstanceInfo>;
  stop(credential: ProviderCredential, instanceId: string): Promise<InstanceInfo>;
  restart(credential: ProviderCredential, instanceId: string): Promise<InstanceInfo>;
  /** Destroys the instance; destroying one that is already gone succeeds. */
  destroy(credential: ProviderCredential, instanceId: string): Promise<void>;
  /** The real state at the provider; a vanished instance is `Terminated`. */
  describe(credential: ProviderCredential, instanceId: string): Promise<InstanceInfo>;
  listAvailable(credential: ProviderCredential): Promise<Available>;
  /** Every instance carrying Kloud's tags, so the reconciler can find unknown or vanished ones. */
  listTagged(credential: ProviderCredential): Promise<TaggedInstance[]>;
}
