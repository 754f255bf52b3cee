/**
 * AWS EC2 behind Kloud's Provider interface. Every call goes through `Ec2Access` (per-credential
 * client, bounded retries, error kinds); waits poll DescribeInstances up to a deadline.
 * Machines live in the credential's region, in the subnet and security group `bootstrap` made.
 */
import {
  DescribeInstancesCommand,
  type EC2Client,
  type Instance,
  RebootInstancesCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { checkUserDataSize } from '../../cloudinit/limits.js';
import { ProviderError } from '../errors.js';
import type {
  Available,
  InstanceInfo,
  MachineSpec,
  Provider,
  ProviderCredential,
  ProviderState,
  TaggedInstance,
} from '../provider.js';
import { providerWait } from '../retry.js';
import { availableAws, resolveImage } from './available.js';
import { bootstrapAws } from './bootstrap.js';
import { Ec2Access } from './client.js';
import { instanceInfo, instanceTags, machineIdTag, taggedInstance } from './instances.js';
import { type AwsProviderOptions, type AwsSettings, awsSettings } from './settings.js';

/** EC2's limit on raw user data. */
const maxUserDataBytes = 16 * 1024;

export class AwsProvider implements Provider {
  readonly name = 'aws';
  readonly #settings: AwsSettings;
  readonly #access: Ec2Access;

  constructor(options: AwsProviderOptions = {}) {
    this.#settings = awsSettings(options);
    this.#access = new Ec2Access(this.#settings);
  }

  async validate(credential: ProviderCredential): Promise<void> {
    const { secret } = this.#access.client(credential);
    await this.#access.call(credential, `check aws credential ${credential.id}`, (ec2) =>
      ec2.send(new DescribeInstancesCommand({ MaxResults: 5 })),
    );
    this.#settings.logger?.info(
      { provider: 'aws', credentialId: credential.id, region: secret.region },
      'credential valid',
    );
  }

  bootstrap(credential: ProviderCredential): Promise<Record<string, string>> {
    return bootstrapAws(this.#access, this.#settings, credential);
  }

  async create(credential: ProviderCredential, spec: MachineSpec, userData: string): Promise<InstanceInfo> {
    const { secret } = this.#access.client(credential);
    const boot = credential.bootstrap ?? {};
    if (!boot.subnetId || !boot.securityGroupId || boot.region !== secret.region) {
      throw new ProviderError(
        'aws',
        'internal',
        `aws credential ${credential.id} is not bootstrapped for ${secret.region}`,
      );
    }
    this.#checkSpec(spec, secret.region, userData);
    // A create resumed after a crash finds its instance by token before resolving the image
    // again: a newer "newest Debian" since then would make EC2 refuse the token as mismatched.
    const earlier = await this.#byClientToken(credential, spec.idempotencyToken);
    if (earlier) return this.#waitFor(credential, earlier, 'Running', ['Starting']);
    const imageId = await resolveImage(this.#access, this.#settings, credential, spec.image);
    const tags = instanceTags(spec.machineId, spec.label);
    const out = await this.#access.call(credential, `create machine ${spec.machineId}`, (ec2) =>
      ec2.send(
        new RunInstancesCommand({
          ImageId: imageId,
          InstanceType: (spec.size ?? this.#settings.defaultSize) as never,
          MinCount: 1,
          MaxCount: 1,
          // The same token on a retried call (ours, or the lifecycle's after a crash) returns
          // the instance made the first time instead of a second one.
          ClientToken: spec.idempotencyToken,
          UserData: Buffer.from(userData, 'utf8').toString('base64'),
          SubnetId: boot.subnetId,
          SecurityGroupIds: [boot.securityGroupId!],
          KeyName: boot.keyName || undefined,
          TagSpecifications: [
            { ResourceType: 'instance', Tags: tags },
            { ResourceType: 'volume', Tags: tags },
          ],
        }),
      ),
    );
    const instanceId = out.Instances?.[0]?.InstanceId;
    if (!instanceId) throw new ProviderError('aws', 'internal', 'RunInstances answered without an instance');
    this.#settings.logger?.info(
      { provider: 'aws', machineId: spec.machineId, instanceId },
      'instance created',
    );
    return this.#waitFor(credential, instanceId, 'Running', ['Starting']);
  }

  start(credential: ProviderCredential, instanceId: string): Promise<InstanceInfo> {
    return this.#power(credential, instanceId, 'start', 'Running', (ec2) =>
      ec2.send(new StartInstancesCommand({ InstanceIds: [instanceId] })),
    );
  }

  stop(credential: ProviderCredential, instanceId: string): Promise<InstanceInfo> {
    return this.#power(credential, instanceId, 'stop', 'Stopped', (ec2) =>
      ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] })),
    );
  }

  async restart(credential: ProviderCredential, instanceId: string): Promise<InstanceInfo> {
    const now = await this.#settled(credential, instanceId);
    this.#refuseGone(now, 'restart');
    if (now.state !== 'Running') {
      throw new ProviderError(
        'aws',
        'user',
        `instance ${instanceId} is ${now.state}, not Running; it cannot be restarted`,
      );
    }
    // EC2 reboots in place: the instance stays `running` throughout, so there is no state to wait for.
    await this.#access.call(credential, `reboot ${instanceId}`, (ec2) =>
      ec2.send(new RebootInstancesCommand({ InstanceIds: [instanceId] })),
    );
    return this.describe(credential, instanceId);
  }

  async destroy(credential: ProviderCredential, instanceId: string): Promise<void> {
    try {
      await this.#access.call(credential, `terminate ${instanceId}`, (ec2) =>
        ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] })),
      );
    } catch (error) {
      if (error instanceof ProviderError && error.kind === 'notFound') return;
      throw error;
    }
    await this.#waitFor(credential, instanceId, 'Terminated', [
      'Terminating',
      'Running',
      'Stopping',
      'Stopped',
      'Starting',
    ]);
  }

  async describe(credential: ProviderCredential, instanceId: string): Promise<InstanceInfo> {
    const { secret } = this.#access.client(credential);
    let instance: Instance | undefined;
    try {
      const out = await this.#access.call(credential, `describe ${instanceId}`, (ec2) =>
        ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })),
      );
      instance = out.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instanceId);
    } catch (error) {
      if (!(error instanceof ProviderError && error.kind === 'notFound')) throw error;
    }
    return instance
      ? instanceInfo(instance, secret.region)
      : { instanceId, state: 'Terminated', meta: { vanished: true } };
  }

  listAvailable(credential: ProviderCredential): Promise<Available> {
    return availableAws(this.#access, this.#settings, credential);
  }

  async listTagged(credential: ProviderCredential): Promise<TaggedInstance[]> {
    const { secret } = this.#access.client(credential);
    const found: TaggedInstance[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < 1000; page++) {
      const out = await this.#access.call(credential, 'list Kloud instances', (ec2) =>
        ec2.send(
          new DescribeInstancesCommand({
            Filters: [{ Name: 'tag-key', Values: [machineIdTag] }],
            MaxResults: 1000,
            NextToken: nextToken,
          }),
        ),
      );
      for (const r of out.Reservations ?? [])
        for (const i of r.Instances ?? []) found.push(taggedInstance(i, secret.region));
      nextToken = out.NextToken;
      if (!nextToken) break;
    }
    return found;
  }

  /** Frees the HTTP clients (Kloud shutting down). */
  close(): void {
    this.#access.close();
  }

  #checkSpec(spec: MachineSpec, region: string, userData: string): void {
    if (spec.region !== undefined && spec.region !== region) {
      throw new ProviderError(
        'aws',
        'user',
        `machine ${spec.machineId} asks for region ${spec.region}, but its credential works in ${region}`,
      );
    }
    const extras = Object.keys(spec.extra ?? {});
    if (extras.length > 0)
      throw new ProviderError('aws', 'user', `aws machines take no extra settings, got ${extras.join(', ')}`);
    if (!/^[\x20-\x7e]{1,64}$/.test(spec.idempotencyToken)) {
      throw new ProviderError(
        'aws',
        'internal',
        'idempotency token must be 1-64 printable ASCII characters (EC2 ClientToken)',
      );
    }
    checkUserDataSize('aws', 'EC2', userData, maxUserDataBytes);
  }

  async #byClientToken(credential: ProviderCredential, token: string): Promise<string | undefined> {
    const out = await this.#access.call(credential, 'look for an earlier create', (ec2) =>
      ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'client-token', Values: [token] }] })),
    );
    return out.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.State?.Name !== 'terminated')
      ?.InstanceId;
  }

  /** Start or stop: nothing to do when already there; else send the call and wait for `target`. */
  async #power(
    credential: ProviderCredential,
    instanceId: string,
    action: string,
    target: 'Running' | 'Stopped',
    send: (ec2: EC2Client) => Promise<unknown>,
  ): Promise<InstanceInfo> {
    const now = await this.#settled(credential, instanceId);
    if (now.state === target) return now;
    this.#refuseGone(now, action);
    await this.#access.call(credential, `${action} ${instanceId}`, send);
    return this.#waitFor(credential, instanceId, target, [
      now.state,
      target === 'Running' ? 'Starting' : 'Stopping',
    ]);
  }

  #refuseGone(info: InstanceInfo, action: string): void {
    if (info.state === 'Terminated' || info.state === 'Terminating') {
      throw new ProviderError(
        'aws',
        'notFound',
        `instance ${info.instanceId} is ${info.state}; it cannot ${action}`,
      );
    }
  }

  /** The instance once it is out of a transition (pending, stopping) that would refuse a new call. */
  #settled(credential: ProviderCredential, instanceId: string): Promise<InstanceInfo> {
    return this.#poll(credential, instanceId, (s) => s !== 'Starting' && s !== 'Stopping', 'to settle');
  }

  /** Waits for `target`; any state outside `passing` on the way means it will not get there. */
  async #waitFor(
    credential: ProviderCredential,
    instanceId: string,
    target: ProviderState,
    passing: ProviderState[],
  ): Promise<InstanceInfo> {
    const info = await this.#poll(
      credential,
      instanceId,
      (s) => s === target || !passing.includes(s),
      `to be ${target}`,
    );
    if (info.state !== target) {
      const reason = info.meta?.stateReason ? ` (${info.meta.stateReason})` : '';
      throw new ProviderError(
        'aws',
        'transient',
        `instance ${instanceId} became ${info.state} instead of ${target}${reason}`,
      );
    }
    return info;
  }

  #poll(
    credential: ProviderCredential,
    instanceId: string,
    done: (state: ProviderState) => boolean,
    what: string,
  ): Promise<InstanceInfo> {
    return providerWait(
      'aws',
      () => this.describe(credential, instanceId),
      (info) => done(info.state),
      `instance ${instanceId} ${what}`,
      { intervalMs: this.#settings.pollIntervalMs, timeoutMs: this.#settings.waitTimeoutMs },
    );
  }
}
