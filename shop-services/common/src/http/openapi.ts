import { z } from 'zod';
import type { AnyRoute } from './routes.js';

export type OpenApiVersion = '3.0.3' | '3.1.0';

/**
 * A route as documented somewhere other than where it is defined, e.g. a service's route exposed at
 * the gateway under another path and with the gateway's own idea of which routes are public.
 */
export interface DocumentedRoute {
  route: AnyRoute;
  /** The documented path, Koa style (`/api/products/:id`). */
  path: string;
  /** Callable without a token. */
  public: boolean;
}

export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
  servers?: { url: string }[];
  /** Prefix added in front of every plain route's path (e.g. '/api/users' at the gateway). */
  pathPrefix?: string;
  /** 3.0.3 (default) uses the OpenAPI 3.0 schema dialect; 3.1.0 plain JSON Schema 2020-12. */
  openapi?: OpenApiVersion;
  /** Responses every operation may give besides its own, e.g. `{ '429': 'Rate limit exceeded' }`. */
  commonResponses?: Record<string, string>;
  /** Description of the 401 documented on every operation that needs a token; none when unset. */
  unauthorized?: string;
}

/** JSON schema for a zod schema: as a client sends it (input) or as the service answers (output). */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output', version: OpenApiVersion): Record<string, unknown> {
  const target = version === '3.1.0' ? 'draft-2020-12' : 'openapi-3.0';
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target }) as Record<string, unknown>;
  return rest;
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query', version: OpenApiVersion): Record<string, unknown>[] {
  if (!schema) return [];
  const js = jsonSchema(schema, 'input', version) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || (js.required ?? []).includes(name),
    schema: s,
  }));
}

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });

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

function operation(d: DocumentedRoute, info: OpenApiInfo, version: OpenApiVersion): Record<string, unknown> {
  const r = d.route;
  const status = String(r.status ?? 200);
  const extra = Object.fromEntries(Object.entries(info.commonResponses ?? {}).map(([code, text]) => [code, errorResponse(text)]));
  return {
    summary: r.summary,
    ...(r.tags ? { tags: r.tags } : {}),
    parameters: [...parameters(r.params, 'path', version), ...parameters(r.query, 'query', version)],
    ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(r.body, 'input', version) } } } } : {}),
    responses: {
      [status]: {
        description: status === '204' ? 'No content' : 'Success',
        ...(r.response && status !== '204' ? { content: { 'application/json': { schema: jsonSchema(r.response, 'output', version) } } } : {}),
      },
      ...(!d.public && info.unauthorized ? { '401': errorResponse(info.unauthorized) } : {}),
      ...extra,
      default: errorResponse('Error'),
    },
    ...(d.public ? { security: [] } : {}),
  };
}

/**
 * OpenAPI document built from route definitions and their zod schemas. Plain routes are documented at
 * `pathPrefix + route.path` and are public when their `auth` is 'none'; DocumentedRoutes say both.
 */
export function buildOpenApi(routes: readonly (AnyRoute | DocumentedRoute)[], info: OpenApiInfo): Record<string, unknown> {
  const version = info.openapi ?? '3.0.3';
  const paths: Record<string, Record<string, unknown>> = {};
  for (const entry of routes) {
    const d: DocumentedRoute = 'route' in entry ? entry : { route: entry, path: (info.pathPrefix ?? '') + entry.path, public: entry.auth === 'none' };
    const p = d.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    paths[p] = { ...paths[p], [d.route.method.toLowerCase()]: operation(d, info, version) };
  }
  return {
    openapi: version,
    info: { title: info.title, version: info.version, ...(info.description ? { description: info.description } : {}) },
    ...(version === '3.1.0' ? { jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema' } : {}),
    ...(info.servers ? { servers: info.servers } : {}),
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { Error: errorSchema },
    },
    security: [{ bearer: [] }],
  };
}
