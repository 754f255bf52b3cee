/** Paging and list filters as they appear on the wire: `?limit=&cursor=` in, `{items, nextCursor}` out. */
import { z } from 'zod';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

export const pageQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_LIMIT)
    .default(DEFAULT_LIMIT)
    .describe(`items per page, 1..${MAX_LIMIT}`),
  cursor: z
    .string()
    .regex(/^[0-9a-f]{1,28}$/)
    .optional()
    .describe('the nextCursor of the previous page'),
});

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    nextCursor: z.string().nullable().describe('pass as cursor for the next page; null on the last page'),
  });
}
