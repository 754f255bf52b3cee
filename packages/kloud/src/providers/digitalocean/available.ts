/** What a DigitalOcean account can create: available sizes and regions, public distribution images. */
import type { Available } from '../provider.js';
import type { DoClient } from './client.js';
import { listAll } from './pages.js';

interface Size {
  slug: string;
  available: boolean;
  vcpus: number;
  memory: number;
  disk: number;
  price_monthly?: number;
  price_hourly?: number;
  description?: string;
  regions?: string[];
}

interface Region {
  slug: string;
  name: string;
  available: boolean;
  sizes?: string[];
  features?: string[];
}

interface Image {
  id: number;
  slug?: string | null;
  name: string;
  distribution?: string;
  status?: string;
  regions?: string[];
  min_disk_size?: number;
}

export async function availableDo(client: DoClient): Promise<Available> {
  const sizes = (await listAll<Size>(client, '/v2/sizes', 'sizes'))
    .filter((s) => s.available)
    .map((s) => ({
      name: s.slug,
      title: `${s.slug} (${s.vcpus} vCPU, ${+(s.memory / 1024).toFixed(1)} GiB, ${s.disk} GB disk)`,
      spec: { vcpus: s.vcpus, memoryMiB: s.memory, diskGb: s.disk, regions: s.regions ?? [] },
      ...(s.price_monthly === undefined ? {} : { price: `$${s.price_monthly}/month` }),
    }))
    .sort(
      (a, b) =>
        a.spec.vcpus - b.spec.vcpus || a.spec.memoryMiB - b.spec.memoryMiB || a.name.localeCompare(b.name),
    );
  const regions = (await listAll<Region>(client, '/v2/regions', 'regions'))
    .filter((r) => r.available)
    .map((r) => ({ name: r.slug, title: r.name, spec: { sizes: r.sizes ?? [], features: r.features ?? [] } }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const images = (await listAll<Image>(client, '/v2/images?type=distribution', 'images'))
    .filter((i) => (i.status ?? 'available') === 'available')
    .map((i) => ({
      // Templates name images by slug when there is one (stable across DO's rebuilds of the image).
      name: i.slug ?? String(i.id),
      title: `${i.distribution ?? ''} ${i.name}`.trim(),
      spec: { id: i.id, regions: i.regions ?? [], minDiskGb: i.min_disk_size },
    }))
    .sort((a, b) => a.title.localeCompare(b.title));
  return { sizes, regions, images };
}
