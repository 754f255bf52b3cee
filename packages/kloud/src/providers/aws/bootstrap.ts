/**
 * Per-credential resources, made once and found again on every later run (so a bootstrap cut
 * short by a crash is finished by the next one, never doubled): the default VPC and one of its
 * default subnets, a security group that lets callers reach Klient (and SSH when a key is
 * imported), and optionally a key pair from the operator's public key.
 */
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  type EC2Client,
  ImportKeyPairCommand,
  type IpPermission,
} from '@aws-sdk/client-ec2';
import { ProviderError } from '../errors.js';
import type { ProviderCredential } from '../provider.js';
import type { Ec2Access } from './client.js';
import type { AwsSettings } from './settings.js';

/** Resolves to undefined when EC2 answers with `code`, so "already exists" is not a failure. */
async function unless<T>(code: string, op: Promise<T>): Promise<T | undefined> {
  try {
    return await op;
  } catch (error) {
    if ((error as Error).name === code) return undefined;
    throw error;
  }
}

function resourceName(credential: ProviderCredential): string {
  return `kloud-${credential.id.replace(/[^A-Za-z0-9._-]/g, '-')}`;
}

async function defaultNetwork(access: Ec2Access, credential: ProviderCredential, region: string) {
  const { Vpcs } = await access.call(credential, 'find the default VPC', (ec2) =>
    ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] })),
  );
  const vpcId = Vpcs?.[0]?.VpcId;
  if (!vpcId) {
    throw new ProviderError(
      'aws',
      'user',
      `region ${region} has no default VPC; create one (aws ec2 create-default-vpc)`,
    );
  }
  const { Subnets } = await access.call(credential, 'find a default subnet', (ec2) =>
    ec2.send(
      new DescribeSubnetsCommand({
        Filters: [
          { Name: 'vpc-id', Values: [vpcId] },
          { Name: 'default-for-az', Values: ['true'] },
        ],
      }),
    ),
  );
  const subnet = [...(Subnets ?? [])].sort((a, b) =>
    (a.AvailabilityZone ?? '').localeCompare(b.AvailabilityZone ?? ''),
  )[0];
  if (!subnet?.SubnetId)
    throw new ProviderError('aws', 'user', `default VPC ${vpcId} in ${region} has no default subnet`);
  return { vpcId, subnetId: subnet.SubnetId, availabilityZone: subnet.AvailabilityZone ?? '' };
}

async function findGroup(ec2: EC2Client, name: string, vpcId: string) {
  const { SecurityGroups } = await ec2.send(
    new DescribeSecurityGroupsCommand({
      Filters: [
        { Name: 'group-name', Values: [name] },
        { Name: 'vpc-id', Values: [vpcId] },
      ],
    }),
  );
  return SecurityGroups?.[0];
}

async function securityGroup(
  access: Ec2Access,
  settings: AwsSettings,
  credential: ProviderCredential,
  vpcId: string,
): Promise<string> {
  const name = resourceName(credential);
  const group = await access.call(credential, 'set up the security group', async (ec2) => {
    const found = await findGroup(ec2, name, vpcId);
    if (found) return found;
    await unless(
      'InvalidGroup.Duplicate',
      ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: name,
          Description: 'Kloud machines: Klient and SSH',
          VpcId: vpcId,
          TagSpecifications: [
            { ResourceType: 'security-group', Tags: [{ Key: 'kloud:credential-id', Value: credential.id }] },
          ],
        }),
      ),
    );
    return findGroup(ec2, name, vpcId);
  });
  if (!group?.GroupId)
    throw new ProviderError('aws', 'internal', `security group ${name} vanished right after it was created`);

  const ports = [settings.klientPort, ...(settings.sshPublicKey ? [22] : [])];
  const has = (port: number) =>
    group.IpPermissions?.some(
      (p) =>
        p.FromPort === port &&
        p.ToPort === port &&
        p.IpRanges?.some((r) => r.CidrIp === settings.ingressCidr),
    );
  const missing: IpPermission[] = ports
    .filter((port) => !has(port))
    .map((port) => ({
      IpProtocol: 'tcp',
      FromPort: port,
      ToPort: port,
      IpRanges: [{ CidrIp: settings.ingressCidr }],
    }));
  if (missing.length > 0) {
    await access.call(credential, 'open the security group to Klient', (ec2) =>
      unless(
        'InvalidPermission.Duplicate',
        ec2.send(
          new AuthorizeSecurityGroupIngressCommand({ GroupId: group.GroupId, IpPermissions: missing }),
        ),
      ),
    );
  }
  return group.GroupId;
}

async function keyPair(
  access: Ec2Access,
  credential: ProviderCredential,
  publicKey: string,
): Promise<string> {
  const name = resourceName(credential);
  await access.call(credential, 'import the key pair', async (ec2) => {
    const found = await unless(
      'InvalidKeyPair.NotFound',
      ec2.send(new DescribeKeyPairsCommand({ KeyNames: [name] })),
    );
    if (found?.KeyPairs?.length) return;
    await unless(
      'InvalidKeyPair.Duplicate',
      ec2.send(
        new ImportKeyPairCommand({
          KeyName: name,
          PublicKeyMaterial: Buffer.from(publicKey.trim()),
          TagSpecifications: [
            { ResourceType: 'key-pair', Tags: [{ Key: 'kloud:credential-id', Value: credential.id }] },
          ],
        }),
      ),
    );
  });
  return name;
}

export async function bootstrapAws(
  access: Ec2Access,
  settings: AwsSettings,
  credential: ProviderCredential,
): Promise<Record<string, string>> {
  const { secret } = access.client(credential);
  const network = await defaultNetwork(access, credential, secret.region);
  const securityGroupId = await securityGroup(access, settings, credential, network.vpcId);
  const outputs: Record<string, string> = { region: secret.region, ...network, securityGroupId };
  if (settings.sshPublicKey) outputs.keyName = await keyPair(access, credential, settings.sshPublicKey);
  return outputs;
}
