/**
 * The EC2 actions the test server answers, each checking its input as EC2 does and answering
 * with the response body EC2 sends (the parts @aws-sdk/client-ec2 reads).
 */

import { networkActions } from './ec2-network-actions.js';
import { awsId, Ec2Fault, type Ec2World, type Instance, ownerId, stateCodes } from './ec2-world.js';
import { type QueryParams, tagSet, tagsFor, wildcardMatch, type XmlValue } from './query.js';

export type Body = Record<string, XmlValue>;
export type Action = (world: Ec2World, params: QueryParams) => Body;

function instanceXml(i: Instance): XmlValue {
  return {
    instanceId: i.instanceId,
    imageId: i.imageId,
    instanceState: { code: stateCodes[i.state], name: i.state },
    privateDnsName: `ip-${i.privateIp.replaceAll('.', '-')}.ec2.internal`,
    dnsName: i.publicIp ? `ec2-${i.publicIp.replaceAll('.', '-')}.compute-1.amazonaws.com` : '',
    keyName: i.keyName,
    amiLaunchIndex: 0,
    instanceType: i.instanceType,
    launchTime: i.launchTime,
    placement: { availabilityZone: i.availabilityZone, tenancy: 'default' },
    subnetId: i.subnetId,
    vpcId: i.vpcId,
    privateIpAddress: i.privateIp,
    ipAddress: i.publicIp,
    groupSet: i.groupIds.map((groupId) => ({ groupId })),
    architecture: 'x86_64',
    clientToken: i.clientToken,
    tagSet: i.tags.size > 0 ? tagSet(i.tags) : undefined,
    stateReason: i.stateReason,
  };
}

function paginate<T>(items: T[], params: QueryParams, pageSize: number): { page: T[]; nextToken?: string } {
  const start = Number(params.get('NextToken') ?? 0);
  const size = Math.min(Number(params.get('MaxResults') ?? pageSize), pageSize);
  const page = items.slice(start, start + size);
  return { page, nextToken: start + size < items.length ? String(start + size) : undefined };
}

function runInstances(world: Ec2World, p: QueryParams): Body {
  const token = p.get('ClientToken');
  const imageId = p.get('ImageId') ?? '';
  const instanceType = p.get('InstanceType') ?? 'm1.small';
  if (token !== undefined && world.clientTokens.has(token)) {
    const earlier = world.instance(world.clientTokens.get(token)!);
    if (earlier.imageId !== imageId || earlier.instanceType !== instanceType) {
      throw new Ec2Fault(
        'IdempotentParameterMismatch',
        `Arguments on this idempotent request are inconsistent with arguments used in previous request(s).`,
      );
    }
    return { reservationId: earlier.reservationId, ownerId, instancesSet: [instanceXml(earlier)] };
  }
  if (!/^ami-[0-9a-f]+$/.test(imageId))
    throw new Ec2Fault('InvalidAMIID.Malformed', `Invalid id: "${imageId}" (expecting "ami-...")`);
  const image = world.images.find((i) => i.imageId === imageId);
  if (!image) throw new Ec2Fault('InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`);
  const type = world.instanceTypes.find((t) => t.name === instanceType);
  if (!type) throw new Ec2Fault('InvalidParameterValue', `Invalid value '${instanceType}' for InstanceType.`);
  if (type.arch !== image.arch) {
    throw new Ec2Fault(
      'InvalidParameterValue',
      `The architecture '${type.arch}' of the specified instance type does not match the architecture '${image.arch}' of the specified AMI.`,
    );
  }
  const subnet = world.subnets.find((s) => s.subnetId === p.get('SubnetId')) ?? world.subnets[0]!;
  if (p.get('SubnetId') !== undefined && subnet.subnetId !== p.get('SubnetId')) {
    throw new Ec2Fault('InvalidSubnetID.NotFound', `The subnet ID '${p.get('SubnetId')}' does not exist`);
  }
  if (type.unsupportedIn?.includes(subnet.az)) {
    throw new Ec2Fault(
      'Unsupported',
      `Your requested instance type (${type.name}) is not supported in your requested Availability Zone (${subnet.az}).`,
    );
  }
  const groupIds = p.list('SecurityGroupId');
  for (const id of groupIds)
    if (!world.securityGroups.has(id))
      throw new Ec2Fault('InvalidGroup.NotFound', `The security group '${id}' does not exist`);
  const keyName = p.get('KeyName');
  if (keyName !== undefined && !world.keyPairs.has(keyName))
    throw new Ec2Fault('InvalidKeyPair.NotFound', `The key pair '${keyName}' does not exist`);
  const userData = p.get('UserData');
  if (userData !== undefined && Buffer.from(userData, 'base64').length > 16384) {
    throw new Ec2Fault('InvalidParameterValue', 'User data is limited to 16384 bytes');
  }
  const instance: Instance = {
    instanceId: awsId('i'),
    reservationId: awsId('r'),
    imageId,
    instanceType,
    state: 'pending',
    seenInState: 0,
    subnetId: subnet.subnetId,
    vpcId: world.vpc.vpcId,
    availabilityZone: subnet.az,
    groupIds,
    keyName,
    privateIp: world.privateIp(subnet.subnetId),
    clientToken: token,
    userData: userData === undefined ? undefined : Buffer.from(userData, 'base64').toString('utf8'),
    tags: tagsFor(p, 'instance'),
    launchTime: new Date().toISOString(),
  };
  world.instances.set(instance.instanceId, instance);
  if (token !== undefined) world.clientTokens.set(token, instance.instanceId);
  return {
    reservationId: instance.reservationId,
    ownerId,
    groupSet: [],
    instancesSet: [instanceXml(instance)],
  };
}

function describeInstances(world: Ec2World, p: QueryParams): Body {
  const ids = p.list('InstanceId');
  const filters = p.filters();
  const found = ids.length > 0 ? ids.map((id) => world.instance(id)) : [...world.instances.values()];
  const matching = found.filter((i) => {
    for (const [name, values] of filters) {
      if (name === 'tag-key' && !values.some((v) => i.tags.has(v))) return false;
      if (name === 'instance-state-name' && !values.includes(i.state)) return false;
      if (name === 'client-token' && !values.includes(i.clientToken ?? '\0')) return false;
      if (name.startsWith('tag:') && !values.includes(i.tags.get(name.slice(4)) ?? '\0')) return false;
    }
    return true;
  });
  const { page, nextToken } = paginate(matching, p, ids.length > 0 ? 1000 : 2);
  for (const i of page) world.observe(i);
  return {
    reservationSet: page.map((i) => ({
      reservationId: i.reservationId,
      ownerId,
      groupSet: [],
      instancesSet: [instanceXml(i)],
    })),
    nextToken,
  };
}

function stateChange(world: Ec2World, p: QueryParams, change: (i: Instance) => void): Body {
  const instances = p.list('InstanceId').map((id) => world.instance(id));
  const previous = instances.map((i) => i.state);
  instances.forEach(change);
  return {
    instancesSet: instances.map((i, n) => ({
      instanceId: i.instanceId,
      currentState: { code: stateCodes[i.state], name: i.state },
      previousState: { code: stateCodes[previous[n]!], name: previous[n]! },
    })),
  };
}

function incorrectState(i: Instance, what: string): Ec2Fault {
  return new Ec2Fault(
    'IncorrectInstanceState',
    `The instance '${i.instanceId}' is not in a state from which it can be ${what}.`,
  );
}

export const actions: Record<string, Action> = {
  DescribeRegions: (world, p) => {
    const all = p.get('AllRegions') === 'true';
    const names = p.list('RegionName');
    return {
      regionInfo: world.regions
        .filter((r) => all || r.optIn !== 'not-opted-in')
        .filter((r) => names.length === 0 || names.includes(r.name))
        .map((r) => ({
          regionName: r.name,
          regionEndpoint: `ec2.${r.name}.amazonaws.com`,
          optInStatus: r.optIn,
        })),
    };
  },
  ...networkActions,
  RunInstances: runInstances,
  DescribeInstances: describeInstances,
  StartInstances: (world, p) =>
    stateChange(world, p, (i) => {
      if (i.state === 'stopped') world.setState(i, 'pending');
      else if (i.state !== 'running' && i.state !== 'pending') throw incorrectState(i, 'started');
    }),
  StopInstances: (world, p) =>
    stateChange(world, p, (i) => {
      if (i.state === 'running' || i.state === 'pending') world.setState(i, 'stopping');
      else if (i.state !== 'stopped' && i.state !== 'stopping') throw incorrectState(i, 'stopped');
    }),
  RebootInstances: (world, p) => {
    for (const id of p.list('InstanceId')) {
      const i = world.instance(id);
      if (i.state !== 'running') throw incorrectState(i, 'rebooted');
    }
    return { return: true };
  },
  TerminateInstances: (world, p) =>
    stateChange(world, p, (i) => {
      if (i.state !== 'terminated' && i.state !== 'shutting-down') world.setState(i, 'shutting-down');
    }),
  DescribeInstanceTypes: (world, p) => {
    const f = p.filters();
    const matching = world.instanceTypes.filter((t) => {
      const current = f.get('current-generation');
      const arch = f.get('processor-info.supported-architecture');
      return (!current || current.includes(String(t.currentGeneration))) && (!arch || arch.includes(t.arch));
    });
    const { page, nextToken } = paginate(matching, p, 3);
    return {
      instanceTypeSet: page.map((t) => ({
        instanceType: t.name,
        currentGeneration: t.currentGeneration,
        vCpuInfo: { defaultVCpus: t.vcpus },
        memoryInfo: { sizeInMiB: t.memoryMiB },
        processorInfo: { supportedArchitectures: [t.arch] },
      })),
      nextToken,
    };
  },
  DescribeImages: (world, p) => {
    const owners = p.list('Owner');
    const ids = p.list('ImageId');
    const f = p.filters();
    return {
      imagesSet: world.images
        .filter((i) => ids.length === 0 || ids.includes(i.imageId))
        .filter((i) => owners.length === 0 || owners.includes(i.ownerId))
        .filter((i) => !f.get('name') || f.get('name')!.some((pattern) => wildcardMatch(pattern, i.name)))
        .filter((i) => !f.get('architecture') || f.get('architecture')!.includes(i.arch))
        .filter((i) => !f.get('state') || f.get('state')!.includes(i.state))
        .map((i) => ({
          imageId: i.imageId,
          imageLocation: `${i.ownerId}/${i.name}`,
          imageState: i.state,
          imageOwnerId: i.ownerId,
          isPublic: true,
          architecture: i.arch,
          imageType: 'machine',
          name: i.name,
          rootDeviceType: 'ebs',
          rootDeviceName: '/dev/xvda',
          virtualizationType: 'hvm',
          creationDate: i.creationDate,
        })),
    };
  },
};
