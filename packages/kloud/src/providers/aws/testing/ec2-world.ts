/**
 * The in-memory account behind the test EC2 server: one region's VPC, subnets, key pairs,
 * security groups, instance types, images and instances. Instances move through EC2's real
 * states: a transitional state (pending, stopping, shutting-down) advances after
 * `settleAfter` DescribeInstances calls have seen it, or at once through `settle()`.
 */
import { createHash, randomBytes } from 'node:crypto';

export class Ec2Fault extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export type InstanceStateName =
  | 'pending'
  | 'running'
  | 'stopping'
  | 'stopped'
  | 'shutting-down'
  | 'terminated';
export const stateCodes: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};
const settlesTo: Partial<Record<InstanceStateName, InstanceStateName>> = {
  pending: 'running',
  stopping: 'stopped',
  'shutting-down': 'terminated',
};

export interface Instance {
  instanceId: string;
  reservationId: string;
  imageId: string;
  instanceType: string;
  state: InstanceStateName;
  seenInState: number;
  subnetId: string;
  vpcId: string;
  availabilityZone: string;
  groupIds: string[];
  keyName?: string;
  privateIp: string;
  publicIp?: string;
  clientToken?: string;
  userData?: string;
  tags: Map<string, string>;
  launchTime: string;
  stateReason?: { code: string; message: string };
}

export interface SecurityGroup {
  groupId: string;
  groupName: string;
  description: string;
  vpcId: string;
  ingress: { protocol: string; from: number; to: number; cidr: string }[];
  tags: Map<string, string>;
}

export interface InstanceType {
  name: string;
  vcpus: number;
  memoryMiB: number;
  arch: 'x86_64' | 'arm64';
  currentGeneration: boolean;
  /** Availability zones where EC2 refuses it as `Unsupported`. */
  unsupportedIn?: string[];
}

export interface Image {
  imageId: string;
  name: string;
  ownerId: string;
  arch: 'x86_64' | 'arm64';
  creationDate: string;
  state: 'available' | 'pending';
}

export const region = 'us-east-1';
export const ownerId = '123456789012';

let serial = 0;
export function awsId(prefix: string): string {
  serial++;
  return `${prefix}-${createHash('sha1')
    .update(`${serial}:${randomBytes(4).toString('hex')}`)
    .digest('hex')
    .slice(0, 17)}`;
}

function octet(): number {
  return 1 + Math.floor(Math.random() * 250);
}

export class Ec2World {
  settleAfter = 1;
  /** Launches that end `terminated` instead of `running`, as EC2 does when capacity runs out after RunInstances. */
  failingLaunches = 0;
  readonly vpc = { vpcId: 'vpc-0default0000000001', cidr: '172.31.0.0/16' };
  readonly subnets = [
    { subnetId: 'subnet-0aaaa00000000001', az: 'us-east-1a', cidr: '172.31.0.0/20', defaultForAz: true },
    { subnetId: 'subnet-0bbbb00000000002', az: 'us-east-1b', cidr: '172.31.16.0/20', defaultForAz: true },
  ];
  readonly regions = [
    { name: 'us-east-1', optIn: 'opt-in-not-required' },
    { name: 'us-west-2', optIn: 'opt-in-not-required' },
    { name: 'eu-central-1', optIn: 'opt-in-not-required' },
    { name: 'af-south-1', optIn: 'not-opted-in' },
  ];
  readonly instanceTypes: InstanceType[] = [
    { name: 't3.micro', vcpus: 2, memoryMiB: 1024, arch: 'x86_64', currentGeneration: true },
    { name: 't3.small', vcpus: 2, memoryMiB: 2048, arch: 'x86_64', currentGeneration: true },
    { name: 't3.medium', vcpus: 2, memoryMiB: 4096, arch: 'x86_64', currentGeneration: true },
    { name: 'm5.large', vcpus: 2, memoryMiB: 8192, arch: 'x86_64', currentGeneration: true },
    { name: 'c5.xlarge', vcpus: 4, memoryMiB: 8192, arch: 'x86_64', currentGeneration: true },
    { name: 't4g.micro', vcpus: 2, memoryMiB: 1024, arch: 'arm64', currentGeneration: true },
    { name: 'm1.small', vcpus: 1, memoryMiB: 1740, arch: 'x86_64', currentGeneration: false },
    {
      name: 'p5.48xlarge',
      vcpus: 192,
      memoryMiB: 2097152,
      arch: 'x86_64',
      currentGeneration: true,
      unsupportedIn: ['us-east-1a', 'us-east-1b'],
    },
  ];
  readonly images: Image[] = [
    {
      imageId: 'ami-0d1a0000000000001',
      name: 'debian-12-amd64-20240101-1609',
      ownerId: '136693071363',
      arch: 'x86_64',
      creationDate: '2024-01-01T16:09:00.000Z',
      state: 'available',
    },
    {
      imageId: 'ami-0d1a0000000000002',
      name: 'debian-12-amd64-20250601-2130',
      ownerId: '136693071363',
      arch: 'x86_64',
      creationDate: '2025-06-01T21:30:00.000Z',
      state: 'available',
    },
    {
      imageId: 'ami-0d1a0000000000003',
      name: 'debian-12-arm64-20250601-2130',
      ownerId: '136693071363',
      arch: 'arm64',
      creationDate: '2025-06-01T21:30:00.000Z',
      state: 'available',
    },
    {
      imageId: 'ami-0ab0000000000004',
      name: 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610',
      ownerId: '099720109477',
      arch: 'x86_64',
      creationDate: '2025-06-10T10:00:00.000Z',
      state: 'available',
    },
    {
      imageId: 'ami-0ee0000000000005',
      name: 'debian-12-amd64-backdoored',
      ownerId: '666666666666',
      arch: 'x86_64',
      creationDate: '2025-07-01T00:00:00.000Z',
      state: 'available',
    },
  ];
  readonly keyPairs = new Map<
    string,
    { keyPairId: string; fingerprint: string; tags: Map<string, string> }
  >();
  readonly securityGroups = new Map<string, SecurityGroup>();
  readonly instances = new Map<string, Instance>();
  readonly clientTokens = new Map<string, string>();

  instance(instanceId: string): Instance {
    const found = this.instances.get(instanceId);
    if (!found) {
      if (!/^i-[0-9a-f]{8,17}$/.test(instanceId)) {
        throw new Ec2Fault('InvalidInstanceID.Malformed', `Invalid id: "${instanceId}"`);
      }
      throw new Ec2Fault('InvalidInstanceID.NotFound', `The instance ID '${instanceId}' does not exist`);
    }
    return found;
  }

  /** Moves an instance to a state now (and to its settled state when that is what was asked). */
  setState(instance: Instance, state: InstanceStateName): void {
    instance.state = state;
    instance.seenInState = 0;
    if (state === 'running') instance.publicIp ??= `54.${octet()}.${octet()}.${octet()}`;
    if (state === 'stopped' || state === 'terminated') instance.publicIp = undefined;
  }

  /** Each DescribeInstances that sees a transitional instance brings it closer to settling. */
  observe(instance: Instance): void {
    const next = settlesTo[instance.state];
    if (next === undefined) return;
    instance.seenInState++;
    if (instance.seenInState <= this.settleAfter) return;
    if (next === 'running' && instance.state === 'pending' && this.failingLaunches > 0) {
      this.failingLaunches--;
      instance.stateReason = {
        code: 'Server.InsufficientInstanceCapacity',
        message: 'Server.InsufficientInstanceCapacity: Insufficient capacity.',
      };
      this.setState(instance, 'terminated');
      return;
    }
    this.setState(instance, next);
  }

  /** Settles every transitional instance at once. */
  settle(): void {
    for (const instance of this.instances.values()) {
      const next = settlesTo[instance.state];
      if (next) this.setState(instance, next);
    }
  }

  /** Makes an instance vanish, as EC2 does an hour after termination. */
  forget(instanceId: string): void {
    this.instances.delete(instanceId);
  }

  privateIp(subnetId: string): string {
    const third = subnetId === this.subnets[0]!.subnetId ? octet() % 16 : 16 + (octet() % 16);
    return `172.31.${third}.${octet()}`;
  }
}
