/**
 * The OpenAPI 3.1 document, made from the declared routes (their zod schemas): what is served at
 * /api/v1/openapi.json is what the server validates and answers. Routes Kloud adds appear too.
 */
import { z } from 'zod';
import type { RouteRegistry, RouteSpec } from './define.js';
import { errorBodySchema } from './errors.js';

type Json = Record<string, unknown>;

/** Converts a schema, moving named sub-schemas (`.meta({id})`) into `components`. */
function convert(schema: z.ZodType, components: Json, io: 'input' | 'output'): Json {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
  const defs = (out.$defs ?? {}) as Record<string, Json>;
  delete out.$defs;
  delete out.$schema;
  const relink = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(relink);
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [
          k,
          k === '$ref' && typeof v === 'string' ? v.replace('#/$defs/', '#/components/schemas/') : relink(v),
        ]),
      );
    }
    return value;
  };
  for (const [name, def] of Object.entries(defs)) components[name] = relink(def);
  // A top-level schema with an id comes back as a bare $ref to itself in $defs.
  return relink(out) as Json;
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query', components: Json): Json[] {
  if (!(schema instanceof z.ZodObject)) return [];
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, field]) => ({
    name,
    in: where,
    required: where === 'path' || !field.safeParse(undefined).success,
    ...(field.description ? { description: field.description } : {}),
    schema: convert(field, components, 'input'),
  }));
}

function operation(route: RouteSpec, components: Json): Json {
  const params = [
    ...parameters(route.params, 'path', components),
    ...parameters(route.query, 'query', components),
  ];
  if (route.ifMatch) {
    params.push({
      name: 'If-Match',
      in: 'header',
      required: true,
      description: 'the ETag you read; 412 when stale, 428 when missing',
      schema: { type: 'string' },
    });
  }
  const status = String(route.status ?? (route.response ? 200 : 204));
  const success: Json = route.response
    ? {
        description: 'success',
        content: { 'application/json': { schema: convert(route.response, components, 'output') } },
      }
    : { description: 'done' };
  return {
    summary: route.summary,
    tags: [route.tag],
    operationId: `${route.method.toLowerCase()}${route.url.replace(/[/:{}-]+(\w)/g, (_m, c: string) => c.toUpperCase())}`,
    ...(params.length ? { parameters: params } : {}),
    ...(route.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: convert(route.body, components, 'input') } },
          },
        }
      : {}),
    responses: {
      [status]: success,
      default: {
        description: 'an error',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
    },
    ...(route.auth === false ? { security: [] } : {}),
  };
}

export function openApiDocument(
  registry: RouteRegistry,
  info: { title?: string; version?: string } = {},
): Json {
  const components: Json = {};
  convert(errorBodySchema, components, 'output');
  const paths: Record<string, Json> = {};
  for (const route of registry.routes) {
    const path = route.url.replace(/:(\w+)/g, '{$1}');
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation(route, components);
  }
  return {
    openapi: '3.1.0',
    info: { title: info.title ?? 'Kloud & Klient API', version: info.version ?? '1' },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'an API token: kk_<id>_<secret>' },
      },
    },
  };
}
