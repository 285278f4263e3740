// Request bodies read with a byte limit (413), a content-type check (415) and a nesting-depth check
// (400) before JSON.parse, so a hostile body costs at most `limit` bytes and one linear scan.
import type { Context } from 'koa';
import { HttpError } from './http-error.js';

export async function readRaw(ctx: Context, limit: number): Promise<string> {
  const declared = Number(ctx.get('content-length') || '0');
  if (declared > limit) throw new HttpError(413, `body: larger than ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      ctx.req.destroy(); // stop reading; the client gets the 413 if it still listens
      throw new HttpError(413, `body: larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  const buf = Buffer.concat(chunks);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw new HttpError(400, 'body: not valid UTF-8');
  }
}

/** Deepest [ / { nesting outside strings. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped char
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 93 || c === 125) depth--;
  }
  return max;
}

export async function readJson(ctx: Context, limit: number, maxDepth: number): Promise<unknown> {
  if (!ctx.is('application/json')) {
    throw new HttpError(415, `content-type: expected application/json, got ${JSON.stringify(ctx.get('content-type') || 'none')}`);
  }
  const text = await readRaw(ctx, limit);
  if (text.trim() === '') throw new HttpError(400, 'body: empty, expected JSON');
  if (jsonDepth(text) > maxDepth) throw new HttpError(400, `body: JSON nested deeper than ${maxDepth} levels`);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(400, `body: invalid JSON (${(err as Error).message})`);
  }
}

export async function readForm(ctx: Context, limit: number): Promise<URLSearchParams> {
  if (!ctx.is('application/x-www-form-urlencoded')) {
    throw new HttpError(415, 'content-type: expected application/x-www-form-urlencoded');
  }
  return new URLSearchParams(await readRaw(ctx, limit));
}
