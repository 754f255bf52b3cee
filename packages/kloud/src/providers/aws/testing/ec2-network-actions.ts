/**
 * The test EC2 server's network and key actions: the default VPC and its subnets, security
 * groups with ingress rules, imported key pairs.
 */
import { createHash } from 'node:crypto';
import type { Action } from './ec2-actions.js';
import { awsId, Ec2Fault, ownerId } from './ec2-world.js';
import { tagSet, tagsFor } from './query.js';

export const networkActions: Record<string, Action> = {
  DescribeVpcs: (world, p) => {
    const isDefault = p.filters().get('isDefault') ?? p.filters().get('is-default');
    const match = !isDefault || isDefault.includes('true');
    return {
      vpcSet: match
        ? [
            {
              vpcId: world.vpc.vpcId,
              cidrBlock: world.vpc.cidr,
              isDefault: true,
              state: 'available',
              ownerId,
            },
          ]
        : [],
    };
  },
  DescribeSubnets: (world, p) => {
    const ids = p.list('SubnetId');
    const f = p.filters();
    for (const id of ids)
      if (!world.subnets.some((s) => s.subnetId === id))
        throw new Ec2Fault('InvalidSubnetID.NotFound', `The subnet ID '${id}' does not exist`);
    return {
      subnetSet: world.subnets
        .filter((s) => ids.length === 0 || ids.includes(s.subnetId))
        .filter(() => !f.get('vpc-id') || f.get('vpc-id')!.includes(world.vpc.vpcId))
        .filter((s) => !f.get('default-for-az') || f.get('default-for-az')!.includes(String(s.defaultForAz)))
        .map((s) => ({
          subnetId: s.subnetId,
          vpcId: world.vpc.vpcId,
          availabilityZone: s.az,
          cidrBlock: s.cidr,
          defaultForAz: s.defaultForAz,
          mapPublicIpOnLaunch: true,
          state: 'available',
        })),
    };
  },
  CreateSecurityGroup: (world, p) => {
    const groupName = p.get('GroupName') ?? '';
    const vpcId = p.get('VpcId') ?? world.vpc.vpcId;
    if ([...world.securityGroups.values()].some((g) => g.groupName === groupName && g.vpcId === vpcId)) {
      throw new Ec2Fault(
        'InvalidGroup.Duplicate',
        `The security group '${groupName}' already exists for VPC '${vpcId}'`,
      );
    }
    const groupId = awsId('sg');
    world.securityGroups.set(groupId, {
      groupId,
      groupName,
      description: p.get('GroupDescription') ?? '',
      vpcId,
      ingress: [],
      tags: tagsFor(p, 'security-group'),
    });
    return { return: true, groupId };
  },
  DescribeSecurityGroups: (world, p) => {
    const ids = p.list('GroupId');
    const f = p.filters();
    for (const id of ids)
      if (!world.securityGroups.has(id))
        throw new Ec2Fault('InvalidGroup.NotFound', `The security group '${id}' does not exist`);
    return {
      securityGroupInfo: [...world.securityGroups.values()]
        .filter((g) => ids.length === 0 || ids.includes(g.groupId))
        .filter((g) => !f.get('group-name') || f.get('group-name')!.includes(g.groupName))
        .filter((g) => !f.get('vpc-id') || f.get('vpc-id')!.includes(g.vpcId))
        .map((g) => ({
          ownerId,
          groupId: g.groupId,
          groupName: g.groupName,
          groupDescription: g.description,
          vpcId: g.vpcId,
          ipPermissions: g.ingress.map((r) => ({
            ipProtocol: r.protocol,
            fromPort: r.from,
            toPort: r.to,
            ipRanges: [{ cidrIp: r.cidr }],
          })),
          tagSet: tagSet(g.tags),
        })),
    };
  },
  AuthorizeSecurityGroupIngress: (world, p) => {
    const group = world.securityGroups.get(p.get('GroupId') ?? '');
    if (!group)
      throw new Ec2Fault('InvalidGroup.NotFound', `The security group '${p.get('GroupId')}' does not exist`);
    for (const perm of p.structs('IpPermissions')) {
      for (const range of perm.structs('IpRanges')) {
        const rule = {
          protocol: perm.get('IpProtocol') ?? '',
          from: Number(perm.get('FromPort')),
          to: Number(perm.get('ToPort')),
          cidr: range.get('CidrIp') ?? '',
        };
        if (group.ingress.some((r) => JSON.stringify(r) === JSON.stringify(rule))) {
          throw new Ec2Fault(
            'InvalidPermission.Duplicate',
            `the specified rule "peer: ${rule.cidr}, TCP, from port: ${rule.from}, to port: ${rule.to}, ALLOW" already exists`,
          );
        }
        group.ingress.push(rule);
      }
    }
    return { return: true };
  },
  ImportKeyPair: (world, p) => {
    const keyName = p.get('KeyName') ?? '';
    if (world.keyPairs.has(keyName))
      throw new Ec2Fault('InvalidKeyPair.Duplicate', `The keypair already exists`);
    const material = Buffer.from(p.get('PublicKeyMaterial') ?? '', 'base64').toString('utf8');
    if (!/^(ssh-ed25519|ssh-rsa) [A-Za-z0-9+/=]+/.test(material))
      throw new Ec2Fault('InvalidKey.Format', 'Key is not in valid OpenSSH public key format');
    const fingerprint = createFingerprint(material);
    const keyPairId = awsId('key');
    world.keyPairs.set(keyName, { keyPairId, fingerprint, tags: tagsFor(p, 'key-pair') });
    return { keyName, keyFingerprint: fingerprint, keyPairId };
  },
  DescribeKeyPairs: (world, p) => {
    const names = p.list('KeyName');
    for (const name of names)
      if (!world.keyPairs.has(name))
        throw new Ec2Fault('InvalidKeyPair.NotFound', `The key pair '${name}' does not exist`);
    return {
      keySet: [...world.keyPairs]
        .filter(([name]) => names.length === 0 || names.includes(name))
        .map(([keyName, k]) => ({
          keyPairId: k.keyPairId,
          keyName,
          keyFingerprint: k.fingerprint,
          keyType: 'ed25519',
        })),
    };
  },
};

/** OpenSSH's SHA256 fingerprint of a public key line. */
function createFingerprint(material: string): string {
  const blob = Buffer.from(material.split(' ')[1] ?? '', 'base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}
