import type { z } from 'zod';

/**
 * What a caller needs to be allowed to call a method. Access tokens carry a scope
 * (`owner` | `user` | `readonly`); `read` methods are open to all three, `write`
 * methods to `owner` and `user`, `owner` methods to `owner` only.
 */
export type Access = 'read' | 'write' | 'owner';

export type Scope = 'owner' | 'user' | 'readonly';

export interface MethodSpec<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  /** Params schema; the receiving side validates against it and answers -32602 naming the field. */
  params: P;
  /** Result schema; it types the client and documents the answer. */
  result: R;
  access: Access;
  /** One line for generated docs and error messages. */
  summary: string;
  /** True when the result carries a `streamId` whose data arrives as stream notifications. */
  streams?: boolean;
}

export function defineMethod<P extends z.ZodType, R extends z.ZodType>(
  spec: MethodSpec<P, R>,
): MethodSpec<P, R> {
  return spec;
}

export function scopeAllows(scope: Scope, access: Access): boolean {
  if (access === 'read') return true;
  if (access === 'write') return scope === 'owner' || scope === 'user';
  return scope === 'owner';
}
