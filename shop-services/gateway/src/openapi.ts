import { z } from 'zod';
import type { AnyRoute } from '@lantern/shop-common';

/**
 * OpenAPI 3.1 document for the gateway's public surface. Common's buildOpenApi emits 3.0 (its JSON
 * schemas use the 3.0 dialect); 3.1 uses plain JSON Schema 2020-12, so the schemas are generated
 * here with z.toJSONSchema's draft-2020-12 target from the same route definitions.
 */
export interface DocumentedRoute {
  route: AnyRoute;
  /** The path at the gateway, Koa style (`/api/products/:id`). */
  path: string;
  /** Whether the gateway lets the route through without an access token. */
  public: boolean;
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  return rest;
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): Record<string, unknown>[] {
  if (!schema) return [];
  const js = jsonSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, s]) => ({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name), schema: s }));
}

const errorSchema = {
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
};

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });

function operation(d: DocumentedRoute): Record<string, unknown> {
  const r = d.route;
  const status = String(r.status ?? 200);
  return {
    summary: r.summary,
    ...(r.tags ? { tags: r.tags } : {}),
    parameters: [...parameters(r.params, 'path'), ...parameters(r.query, 'query')],
    ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(r.body, 'input') } } } } : {}),
    responses: {
      [status]: {
        description: status === '204' ? 'No content' : 'Success',
        ...(r.response && status !== '204' ? { content: { 'application/json': { schema: jsonSchema(r.response, 'output') } } } : {}),
      },
      ...(d.public ? {} : { '401': errorResponse('Missing, expired or invalid access token') }),
      '429': errorResponse('Rate limit exceeded; see Retry-After'),
      default: errorResponse('Error'),
    },
    ...(d.public ? { security: [] } : {}),
  };
}

export function buildOpenApi31(routes: readonly DocumentedRoute[], info: { title: string; version: string; description?: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const d of routes) {
    const p = d.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    paths[p] = { ...paths[p], [d.route.method.toLowerCase()]: operation(d) };
  }
  return {
    openapi: '3.1.0',
    info,
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { Error: errorSchema },
    },
    security: [{ bearer: [] }],
  };
}
