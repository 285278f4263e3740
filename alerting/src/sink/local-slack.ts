// A Slack-compatible incoming-webhook endpoint inside the engine, for local runs without a Slack
// workspace: the demo's receivers post here (answered `ok` like Slack) and the page lists the messages.
import Router from '@koa/router';
import type Koa from 'koa';

export interface SlackMessage {
  channel: string;
  receivedAt: Date;
  /** Slack's notification fallback text. */
  text: string;
  /** The Block Kit blocks as posted. */
  blocks: unknown[];
}

const MAX_BODY_BYTES = 256 * 1024;
const CHANNEL = /^[a-z0-9][a-z0-9_-]{0,79}$/;

export class LocalSlackSink {
  private readonly ring: SlackMessage[] = [];

  constructor(private readonly capacity = 500) {}

  /** Newest first. */
  messages(): SlackMessage[] {
    return [...this.ring].reverse();
  }

  /** Mounts `POST /local/slack/:channel` on the engine's app. */
  mount(app: Koa): void {
    const router = new Router();
    router.post('/local/slack/:channel', async (ctx) => {
      const channel = ctx.params.channel ?? '';
      if (!CHANNEL.test(channel)) {
        ctx.status = 400;
        ctx.body = 'invalid_channel';
        return;
      }
      const body = await readJson(ctx.req);
      if (!body.ok) {
        ctx.status = body.status;
        ctx.body = body.error;
        return;
      }
      const msg = body.value as { text?: unknown; blocks?: unknown };
      if (typeof msg.text !== 'string' && !Array.isArray(msg.blocks)) {
        ctx.status = 400;
        ctx.body = 'no_text'; // what Slack answers a payload with neither text nor blocks
        return;
      }
      this.ring.push({ channel, receivedAt: new Date(), text: typeof msg.text === 'string' ? msg.text : '', blocks: Array.isArray(msg.blocks) ? msg.blocks : [] });
      if (this.ring.length > this.capacity) this.ring.shift();
      ctx.type = 'text/plain';
      ctx.body = 'ok';
    });
    app.use(router.routes());
  }
}

type JsonBody = { ok: true; value: unknown } | { ok: false; status: number; error: string };

async function readJson(req: NodeJS.ReadableStream): Promise<JsonBody> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return { ok: false, status: 413, error: 'request_too_large' };
    chunks.push(chunk as Buffer);
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return { ok: false, status: 400, error: 'invalid_payload' };
    return { ok: true, value };
  } catch {
    return { ok: false, status: 400, error: 'invalid_payload' };
  }
}
