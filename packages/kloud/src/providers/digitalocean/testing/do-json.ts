/**
 * The test DigitalOcean API's answers, shaped as DigitalOcean's OpenAPI document requires
 * (Prism's validating proxy refuses anything else): droplets and actions.
 */
import type { FakeAction, FakeDroplet } from './do-server.js';

export const sizes: Record<string, { vcpus: number; memory: number; disk: number }> = {
  's-1vcpu-1gb': { vcpus: 1, memory: 1024, disk: 25 },
  's-2vcpu-4gb': { vcpus: 2, memory: 4096, disk: 80 },
};
export const regions = ['nyc3', 'fra1'];
export const images = ['debian-12-x64', 'ubuntu-24-04-x64'];
const at = '2025-10-15T13:52:47.281Z';

export function dropletJson(d: FakeDroplet) {
  const size = sizes[d.size]!;
  return {
    id: d.id,
    name: d.name,
    memory: size.memory,
    vcpus: size.vcpus,
    disk: size.disk,
    locked: false,
    status: d.status,
    kernel: null,
    created_at: at,
    features: [],
    backup_ids: [],
    next_backup_window: null,
    snapshot_ids: [],
    image: {
      id: 100 + images.indexOf(d.image),
      name: d.image,
      distribution: 'Debian',
      slug: d.image,
      public: true,
      regions,
      created_at: at,
      min_disk_size: 20,
      size_gigabytes: 2.36,
      description: '',
      tags: [],
      status: 'available',
      error_message: '',
      type: 'base',
    },
    volume_ids: [],
    size: {
      slug: d.size,
      memory: size.memory,
      vcpus: size.vcpus,
      disk: size.disk,
      transfer: 1,
      price_monthly: 6,
      price_hourly: 0.00893,
      regions,
      available: true,
      description: 'Basic',
    },
    size_slug: d.size,
    networks: {
      v4: [
        { ip_address: `10.10.0.${d.id % 250}`, netmask: '255.255.0.0', gateway: 'nil', type: 'private' },
        ...(d.status === 'active'
          ? [{ ip_address: d.publicIp, netmask: '255.255.240.0', gateway: '164.90.0.1', type: 'public' }]
          : []),
      ],
      v6: [],
    },
    region: {
      name: d.region,
      slug: d.region,
      features: ['metadata'],
      available: true,
      sizes: Object.keys(sizes),
    },
    tags: d.tags,
    vpc_uuid: '760e09ef-dc84-11e8-981e-3cfdfeaae000',
  };
}

export function actionJson(a: FakeAction, region: string) {
  return {
    id: a.id,
    status: a.status,
    type: a.type,
    started_at: at,
    completed_at: a.status === 'in-progress' ? null : at,
    resource_id: a.dropletId,
    resource_type: 'droplet',
    region: {
      name: region,
      slug: region,
      features: ['metadata'],
      available: true,
      sizes: Object.keys(sizes),
    },
    region_slug: region,
  };
}
