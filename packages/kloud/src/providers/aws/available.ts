/**
 * What a credential can create: current-generation instance types of Klient's architecture,
 * the regions the account has enabled, and the newest image of each configured family.
 */
import {
  DescribeImagesCommand,
  DescribeInstanceTypesCommand,
  DescribeRegionsCommand,
  type Image,
  type InstanceTypeInfo,
} from '@aws-sdk/client-ec2';
import { ProviderError } from '../errors.js';
import type { Available, AvailableOption, ProviderCredential } from '../provider.js';
import type { Ec2Access } from './client.js';
import type { AwsSettings, ImageFamily } from './settings.js';

/** Pages are followed to this bound so a misbehaving endpoint cannot loop us forever. */
const maxPages = 50;

async function instanceTypes(access: Ec2Access, settings: AwsSettings, credential: ProviderCredential) {
  const all: InstanceTypeInfo[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const out = await access.call(credential, 'list instance types', (ec2) =>
      ec2.send(
        new DescribeInstanceTypesCommand({
          Filters: [
            { Name: 'current-generation', Values: ['true'] },
            { Name: 'processor-info.supported-architecture', Values: [settings.architecture] },
          ],
          MaxResults: 100,
          NextToken: nextToken,
        }),
      ),
    );
    all.push(...(out.InstanceTypes ?? []));
    nextToken = out.NextToken;
    if (!nextToken) break;
  }
  return all
    .map((t) => {
      const vcpus = t.VCpuInfo?.DefaultVCpus ?? 0;
      const memoryMiB = t.MemoryInfo?.SizeInMiB ?? 0;
      return {
        name: t.InstanceType!,
        title: `${t.InstanceType} (${vcpus} vCPU, ${+(memoryMiB / 1024).toFixed(1)} GiB)`,
        spec: { vcpus, memoryMiB, architecture: settings.architecture },
      };
    })
    .sort(
      (a, b) =>
        a.spec.vcpus - b.spec.vcpus || a.spec.memoryMiB - b.spec.memoryMiB || a.name.localeCompare(b.name),
    );
}

/** The newest available image of a family, or undefined when the region has none. */
export async function newestImage(
  access: Ec2Access,
  settings: AwsSettings,
  credential: ProviderCredential,
  family: ImageFamily,
): Promise<Image | undefined> {
  const { Images } = await access.call(credential, `find the newest ${family.title} image`, (ec2) =>
    ec2.send(
      new DescribeImagesCommand({
        Owners: [family.owner],
        Filters: [
          { Name: 'name', Values: [family.namePattern] },
          { Name: 'architecture', Values: [settings.architecture] },
          { Name: 'state', Values: ['available'] },
        ],
      }),
    ),
  );
  return [...(Images ?? [])].sort((a, b) => (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''))[0];
}

/**
 * The AMI for a machine's `image`: an AMI id as given, a family key (`debian-12`) as its newest
 * image, nothing as the first family's newest. Throws ProviderError `user` for anything else.
 */
export async function resolveImage(
  access: Ec2Access,
  settings: AwsSettings,
  credential: ProviderCredential,
  image: string | undefined,
): Promise<string> {
  if (image !== undefined && /^ami-[0-9a-f]+$/.test(image)) return image;
  const family =
    image === undefined ? settings.imageFamilies[0]! : settings.imageFamilies.find((f) => f.key === image);
  if (!family) {
    const keys = settings.imageFamilies.map((f) => f.key).join(', ');
    throw new ProviderError(
      'aws',
      'user',
      `image ${JSON.stringify(image)} is neither an AMI id (ami-…) nor one of ${keys}`,
    );
  }
  const newest = await newestImage(access, settings, credential, family);
  if (!newest?.ImageId) {
    throw new ProviderError(
      'aws',
      'user',
      `no ${family.title} image (${family.namePattern}) is available in this region`,
    );
  }
  return newest.ImageId;
}

export async function availableAws(
  access: Ec2Access,
  settings: AwsSettings,
  credential: ProviderCredential,
): Promise<Available> {
  const sizes = await instanceTypes(access, settings, credential);
  const { Regions } = await access.call(credential, 'list regions', (ec2) =>
    ec2.send(new DescribeRegionsCommand({})),
  );
  const regions = (Regions ?? [])
    .map((r) => ({
      name: r.RegionName!,
      title: r.RegionName!,
      spec: { endpoint: r.Endpoint, optInStatus: r.OptInStatus },
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const images: AvailableOption[] = [];
  for (const family of settings.imageFamilies) {
    const newest = await newestImage(access, settings, credential, family);
    if (newest?.ImageId) {
      images.push({
        name: family.key,
        title: family.title,
        spec: { imageId: newest.ImageId, imageName: newest.Name, created: newest.CreationDate },
      });
    }
  }
  return { sizes, regions, images };
}
