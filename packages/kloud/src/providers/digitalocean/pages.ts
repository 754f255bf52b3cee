/**
 * DO's list endpoints page with `page`/`per_page`. We ask for pages by number (never follow
 * `links.pages.next`, an absolute URL that could point anywhere) and stop at a short page, a
 * missing next link, or a bound.
 */
import type { DoClient } from './client.js';

const perPage = 200;
const maxPages = 50;

interface Page {
  links?: { pages?: { next?: string } };
  meta?: { total?: number };
}

export async function listAll<T>(client: DoClient, path: string, key: string): Promise<T[]> {
  const all: T[] = [];
  const sep = path.includes('?') ? '&' : '?';
  for (let page = 1; page <= maxPages; page++) {
    const { body } = await client.request<Page & Record<string, unknown>>(
      'GET',
      `${path}${sep}page=${page}&per_page=${perPage}`,
    );
    const items = (body?.[key] ?? []) as T[];
    all.push(...items);
    const total = body?.meta?.total;
    if (items.length < perPage || !body?.links?.pages?.next || (total !== undefined && all.length >= total))
      break;
  }
  return all;
}
