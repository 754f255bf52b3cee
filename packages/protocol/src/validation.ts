import type { z } from 'zod';
import { errors } from './errors.js';

/**
 * Validates params against a method's schema. On failure throws -32602 whose message names
 * the first bad field (`path: problem`) and whose data lists every issue, so a caller can fix
 * the call without reading the server's code.
 */
export function parseParams(method: string, schema: z.ZodType, params: unknown): unknown {
  const parsed = schema.safeParse(params);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(params)',
    message: issue.message,
    code: issue.code,
  }));
  const first = issues[0]!;
  throw errors.invalidParams(`invalid params for ${method}: ${first.path}: ${first.message}`, { issues });
}
