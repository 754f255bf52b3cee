import type { KloudApi } from './api.js';

/** Every item of a paged `/api/v1` list (`{items, nextCursor}`), following the cursors. */
export async function listAll<T>(api: KloudApi, path: string, pageSize = 200): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page: { items: T[]; nextCursor: string | null } = await api.get(
      `${path}${sep}limit=${pageSize}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}
