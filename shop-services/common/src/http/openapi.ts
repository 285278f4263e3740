import { z } from 'zod';
import type { AnyRoute } from './routes.js';

/** JSON-schema for a zod schema as a client sends it (coercions and transforms described by input). */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'openapi-3.0' }) as Record<string, unknown>;
  return rest;
}

function openApiPath(koaPath: string): string {
  return koaPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): Record<string, unknown>[] {
  if (!schema) return [];
  const js = jsonSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || (js.required ?? []).includes(name),
    schema: s,
  }));
}

export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
  servers?: { url: string }[];
  /** Prefix added in front of every route path (e.g. '/api/users' at the gateway). */
  pathPrefix?: string;
}

/** OpenAPI 3.0 document built from route definitions and their zod schemas. */
export function buildOpenApi(routes: readonly AnyRoute[], info: OpenApiInfo): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const p = openApiPath((info.pathPrefix ?? '') + r.path);
    const status = String(r.status ?? 200);
    const op: Record<string, unknown> = {
      summary: r.summary,
      ...(r.tags ? { tags: r.tags } : {}),
      parameters: [...parameters(r.params, 'path'), ...parameters(r.query, 'query')],
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(r.body, 'input') } } } } : {}),
      responses: {
        [status]: {
          description: status === '204' ? 'No content' : 'Success',
          ...(r.response && status !== '204' ? { content: { 'application/json': { schema: jsonSchema(r.response, 'output') } } } : {}),
        },
        default: { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
      ...(r.auth === 'none' ? { security: [] } : {}),
    };
    paths[p] = { ...paths[p], [r.method.toLowerCase()]: op };
  }
  return {
    openapi: '3.0.3',
    info: { title: info.title, version: info.version, ...(info.description ? { description: info.description } : {}) },
    ...(info.servers ? { servers: info.servers } : {}),
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string' },
                message: { type: 'string' },
                details: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
              },
            },
            trace_id: { type: 'string' },
          },
        },
      },
    },
    security: [{ bearer: [] }],
  };
}
