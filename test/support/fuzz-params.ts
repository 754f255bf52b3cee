/**
 * Seeded params for JSON-RPC fuzzing, shaped from a method's catalogue schema (as JSON Schema)
 * most of the time and of any shape now and then, so calls reach the handlers and not only the
 * schema checks. `strings` lets a suite mix real ids into the junk.
 */
import { catalogue, type MethodName } from '@kk/protocol';
import { z } from 'zod';

type Schema = {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  minimum?: number;
  maximum?: number;
};

export interface ParamsFuzzer {
  /** Params for `method`, from the seeded sequence. */
  params(method: MethodName): unknown;
  pick<T>(items: readonly T[]): T;
}

export function paramsFuzzer(seed: number, strings: string[]): ParamsFuzzer {
  let state = seed;
  const r = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(r() * items.length)]!;
  const atoms = [null, true, 0, -1, 2 ** 53, 1.5, ...strings, [], {}];
  const gen = (schema: Schema, depth = 0): unknown => {
    if (r() < 0.08 || depth > 4) return pick(atoms);
    if (schema.enum) return pick(schema.enum);
    const union = schema.anyOf ?? schema.oneOf;
    if (union) return gen(pick(union), depth + 1);
    switch (schema.type) {
      case 'object': {
        const out: Record<string, unknown> = {};
        for (const [key, sub] of Object.entries(schema.properties ?? {})) {
          if (schema.required?.includes(key) ? r() < 0.95 : r() < 0.4) out[key] = gen(sub, depth + 1);
        }
        return out;
      }
      case 'array':
        return Array.from({ length: Math.floor(r() * 3) }, () => gen(schema.items ?? {}, depth + 1));
      case 'string':
        return pick(strings);
      case 'integer':
      case 'number': {
        const lo = schema.minimum ?? -5;
        const hi = Math.min(schema.maximum ?? 100_000, lo + 100_000);
        return r() < 0.2 ? pick([lo, hi, lo - 1, hi + 1]) : Math.floor(lo + r() * (hi - lo));
      }
      case 'boolean':
        return r() < 0.5;
      default:
        return pick(atoms);
    }
  };
  const schemas = new Map<MethodName, Schema>();
  return {
    pick,
    params(method) {
      let schema = schemas.get(method);
      if (!schema) {
        schema = z.toJSONSchema(catalogue[method].params, { io: 'input', unrepresentable: 'any' }) as Schema;
        schemas.set(method, schema);
      }
      return gen(schema);
    },
  };
}
