/**
 * Droplets as Kloud sees them: DO's status mapped to Kloud's states, the facts kept in
 * Machine.meta, and the tags that mark a droplet as Kloud's. DO tags allow letters, digits,
 * `:`, `-` and `_` (up to 255): other characters (and `_` itself) are written `_hh` (hex
 * UTF-8 bytes), which reads back exactly, so listTagged returns the real machine id.
 */
import { checkUserDataSize } from '../../cloudinit/limits.js';
import { ProviderError } from '../errors.js';
import type { InstanceInfo, MachineSpec, ProviderState, TaggedInstance } from '../provider.js';

export interface Droplet {
  id: number;
  name: string;
  status: string;
  locked?: boolean;
  tags?: string[];
  created_at?: string;
  size_slug?: string;
  vcpus?: number;
  memory?: number;
  disk?: number;
  region?: { slug?: string };
  image?: { id?: number; slug?: string | null; distribution?: string; name?: string };
  networks?: { v4?: { ip_address: string; type: string }[]; v6?: { ip_address: string; type: string }[] };
}

/** Every droplet Kloud creates carries this tag; listTagged lists by it. */
export const kloudTag = 'kloud';
const machinePrefix = 'kloud-machine-';
const tokenPrefix = 'kloud-token-';

/** A value as tag text: `_` and anything DO refuses become `_hh` per UTF-8 byte. */
export function tagEncode(value: string): string {
  return [...Buffer.from(value, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9:-]/.test(String.fromCharCode(b)) && b < 0x80
        ? String.fromCharCode(b)
        : `_${b.toString(16).padStart(2, '0')}`,
    )
    .join('');
}

export function tagDecode(text: string): string {
  return Buffer.from(
    text.replace(/_([0-9a-f]{2})|./gs, (m, hex: string | undefined) =>
      hex ? String.fromCharCode(Number.parseInt(hex, 16)) : m,
    ),
    'latin1',
  ).toString('utf8');
}

function tagSafe(value: string): string {
  const encoded = tagEncode(value);
  if (encoded.length > 200) {
    throw new ProviderError(
      'digitalocean',
      'internal',
      `id ${JSON.stringify(value.slice(0, 40))}… is too long for a DigitalOcean tag`,
    );
  }
  return encoded;
}

export function machineTag(machineId: string): string {
  return `${machinePrefix}${tagSafe(machineId)}`;
}

/** DO has no idempotency token: a tag per create request lets a retried create find its droplet. */
export function tokenTag(token: string): string {
  return `${tokenPrefix}${tagSafe(token)}`;
}

/** A label as a valid droplet name (a hostname). */
export function dropletName(label: string, machineId: string): string {
  const name = label
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 63);
  return name === ''
    ? `kloud-${machineId
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, '-')
        .slice(0, 50)}`
    : name;
}

const states: Record<string, ProviderState> = {
  new: 'Starting',
  active: 'Running',
  off: 'Stopped',
  archive: 'Terminated',
};

export function kloudState(status: string): ProviderState {
  return states[status] ?? 'Unknown';
}

export function dropletInfo(droplet: Droplet): InstanceInfo {
  const v4 = droplet.networks?.v4 ?? [];
  const publicIp = v4.find((n) => n.type === 'public')?.ip_address;
  const privateIp = v4.find((n) => n.type === 'private')?.ip_address;
  const meta: Record<string, unknown> = {
    region: droplet.region?.slug,
    size: droplet.size_slug,
    image: droplet.image?.slug ?? droplet.image?.id,
    vcpus: droplet.vcpus,
    memoryMiB: droplet.memory,
    diskGb: droplet.disk,
    privateIpAddress: privateIp,
    createdAt: droplet.created_at,
  };
  for (const key of Object.keys(meta)) if (meta[key] === undefined) delete meta[key];
  return {
    instanceId: String(droplet.id),
    state: kloudState(droplet.status),
    ipAddress: publicIp ?? privateIp,
    meta,
  };
}

export function taggedDroplet(droplet: Droplet): TaggedInstance {
  const tag = droplet.tags?.find((t) => t.startsWith(machinePrefix));
  return {
    ...dropletInfo(droplet),
    ...(tag ? { machineId: tagDecode(tag.slice(machinePrefix.length)) } : {}),
  };
}

/** DO's limit on user data. */
const maxUserDataBytes = 64 * 1024;

export interface DropletDefaults {
  defaultRegion: string;
  defaultSize: string;
  defaultImage: string;
}

/**
 * The POST /v2/droplets body for a machine: its spec over the defaults, Kloud's three tags
 * (`kloud`, machine, request token), the bootstrap key plus any `extra.sshKeys`. Throws
 * ProviderError `user` for extras it does not know or user data DO would refuse.
 */
export function dropletRequest(
  spec: MachineSpec,
  userData: string,
  bootstrapKeyId: string | undefined,
  defaults: DropletDefaults,
) {
  const { sshKeys, ...rest } = (spec.extra ?? {}) as { sshKeys?: unknown };
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    throw new ProviderError(
      'digitalocean',
      'user',
      `digitalocean machines take only extra.sshKeys, got ${unknown.join(', ')}`,
    );
  }
  if (
    sshKeys !== undefined &&
    !(Array.isArray(sshKeys) && sshKeys.every((k) => typeof k === 'number' || typeof k === 'string'))
  ) {
    throw new ProviderError(
      'digitalocean',
      'user',
      'extra.sshKeys must be a list of SSH key ids or fingerprints',
    );
  }
  const keys: (number | string)[] = [...((sshKeys as (number | string)[] | undefined) ?? [])];
  if (bootstrapKeyId && !keys.includes(Number(bootstrapKeyId))) keys.push(Number(bootstrapKeyId));
  checkUserDataSize('digitalocean', 'DigitalOcean', userData, maxUserDataBytes);
  return {
    name: dropletName(spec.label, spec.machineId),
    region: spec.region ?? defaults.defaultRegion,
    size: spec.size ?? defaults.defaultSize,
    image: spec.image ?? defaults.defaultImage,
    ssh_keys: keys,
    tags: [kloudTag, machineTag(spec.machineId), tokenTag(spec.idempotencyToken)] as [string, string, string],
    user_data: userData,
    monitoring: false,
    ipv6: false,
  };
}
