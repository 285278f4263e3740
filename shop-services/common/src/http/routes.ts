import type Koa from 'koa';
import { Router } from '@koa/router';
import type { z } from 'zod';
import { parse } from '../validation.js';
import { requireRole, requireUser } from '../auth/internal-token.js';
import type { AuthUser } from '../auth/types.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** End-user requirement: 'none' = no end user needed (register/login), 'user' = any user, 'admin' = admin role. */
export type RouteAuth = 'none' | 'user' | 'admin';

type Out<T> = T extends z.ZodType ? z.output<T> : undefined;

export interface RouteInput<P, Q, B, A extends RouteAuth> {
  params: Out<P>;
  query: Out<Q>;
  body: Out<B>;
  /** Present (and typed non-optional) when auth is 'user' or 'admin'. */
  user: A extends 'none' ? AuthUser | undefined : AuthUser;
  ctx: Koa.Context;
}

export interface RouteSpec<
  P extends z.ZodType | undefined = z.ZodType | undefined,
  Q extends z.ZodType | undefined = z.ZodType | undefined,
  B extends z.ZodType | undefined = z.ZodType | undefined,
  R extends z.ZodType | undefined = z.ZodType | undefined,
  A extends RouteAuth = RouteAuth,
> {
  method: HttpMethod;
  /** Koa-style path, e.g. `/users/:id`. */
  path: string;
  summary: string;
  tags?: string[];
  params?: P;
  query?: Q;
  body?: B;
  /** Response body schema: documents the route and strips fields not in it (no accidental leaks). */
  response?: R;
  /** Success status, 200 by default (204 means no body). */
  status?: number;
  /**
   * The handler returns objects it never mutates (straight from an immutable cache, say): the
   * validated, serialised response is kept per returned object (a WeakMap, so it goes with the
   * object) and sent again as the same bytes, without the response schema parse and JSON
   * serialisation, whenever the handler returns that object again.
   */
  reuseResponse?: boolean;
  auth: A;
  handler(input: RouteInput<P, Q, B, A>): Promise<R extends z.ZodType ? z.input<R> : unknown>;
}

/** A route whose type parameters are erased, for lists of routes. */
export interface AnyRoute {
  method: HttpMethod;
  path: string;
  summary: string;
  tags?: string[];
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  response?: z.ZodType;
  status?: number;
  reuseResponse?: boolean;
  auth: RouteAuth;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- erased handler type; defineRoute checks it
  handler(input: any): Promise<unknown>;
}

/** Identity with inference: the handler's input is typed from the schemas. */
export function defineRoute<
  P extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
  R extends z.ZodType | undefined = undefined,
  A extends RouteAuth = RouteAuth,
>(spec: RouteSpec<P, Q, B, R, A>): AnyRoute {
  return spec as unknown as AnyRoute;
}

function queryObject(ctx: Koa.Context): Record<string, unknown> {
  return { ...ctx.query };
}

/** The Koa middleware that validates input, checks the end-user requirement and runs the handler. */
export function routeMiddleware(route: AnyRoute): Koa.Middleware {
  const reused = route.reuseResponse ? new WeakMap<object, Buffer>() : undefined;
  /** The response bytes for `result`, computed once per object (see RouteSpec.reuseResponse). */
  const bytesOf = (result: object): Buffer => {
    let bytes = reused!.get(result);
    if (bytes === undefined) {
      bytes = Buffer.from(JSON.stringify(route.response ? route.response.parse(result) : result));
      reused!.set(result, bytes);
    }
    return bytes;
  };
  return async function handle(ctx) {
    const user: AuthUser | undefined =
      route.auth === 'admin' ? requireRole(ctx, 'admin') : route.auth === 'user' ? requireUser(ctx) : (ctx.state.user as AuthUser | undefined);
    const params = route.params ? parse(route.params, (ctx as Koa.Context & { params?: unknown }).params ?? {}, 'params') : undefined;
    const query = route.query ? parse(route.query, queryObject(ctx), 'query') : undefined;
    const body = route.body ? parse(route.body, ctx.request.body ?? {}, 'body') : undefined;
    const result = await route.handler({ params, query, body, user, ctx });
    const status = route.status ?? 200;
    ctx.status = status;
    if (status === 204) return;
    if (reused !== undefined && typeof result === 'object' && result !== null) {
      ctx.type = 'application/json; charset=utf-8';
      ctx.body = bytesOf(result);
      return;
    }
    // parse (not safeParse): a response that breaks its own schema is a server bug → 500
    ctx.body = route.response ? route.response.parse(result) : result;
  };
}

/** A router with every route registered. Unknown paths fall through (404); wrong methods get 405. */
export function createRouter(routes: readonly AnyRoute[], opts: { prefix?: string } = {}): Router {
  const router = new Router(opts.prefix ? { prefix: opts.prefix } : {});
  for (const route of routes) router.register(route.path, [route.method], routeMiddleware(route));
  return router;
}
