// Slack: Block Kit messages through an incoming webhook (api_url), or, with a bot token, through
// chat.postMessage so that later messages of a group (repeats, "Acknowledged by", resolved) reply in the
// first message's thread. Incoming webhooks cannot thread: there the ack notice is a message of its own.
import type { Clock } from '../../model/clock.js';
import { systemClock } from '../../model/clock.js';
import { RetryableNotifyError, type Integration, type NotificationContext } from '../../model/notification.js';
import { buildContent } from './content.js';
import { checkStatus, PermanentNotifyError, post, retryAfterMs, type PostResult } from './http.js';
import { redactUrl, safeMessage } from './redact.js';
import { slackPayload, type SlackPayload } from './slack-blocks.js';
import { defaultSlackQueues, type Attempt, type SlackQueues } from './slack-queue.js';

export const SLACK_POST_MESSAGE_URL = 'https://slack.com/api/chat.postMessage';

export interface SlackOptions {
  /** Incoming webhook URL; with `botToken`, the chat.postMessage endpoint (default SLACK_POST_MESSAGE_URL). Secret. */
  apiUrl?: string;
  sendResolved: boolean;
  /** Required with a bot token; a legacy webhook may override its channel with it. */
  channel?: string;
  username?: string;
  iconEmoji?: string;
  iconUrl?: string;
  /** Bot token (xoxb-…): chat.postMessage with threads per group. Secret. */
  botToken?: string;
  /** Per request. */
  timeoutMs: number;
}

export interface SlackDeps {
  clock?: Clock;
  queues?: SlackQueues;
}

/** Thread roots remembered per integration (bot mode); old ones are forgotten first. */
const MAX_THREADS = 10_000;
const DEFAULT_RETRY_AFTER_MS = 1000;
/** chat.postMessage `error` codes that are Slack's own trouble, worth retrying. */
const TRANSIENT_API_ERRORS = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'ratelimited']);

export class SlackIntegration implements Integration {
  readonly type = 'slack' as const;
  readonly sendResolved: boolean;
  private readonly clock: Clock;
  private readonly queues: SlackQueues;
  /** groupKey → ts of the group's first message (bot mode only). */
  private readonly threads = new Map<string, string>();

  constructor(
    readonly name: string,
    private readonly opts: SlackOptions,
    deps: SlackDeps = {},
  ) {
    if (opts.botToken && !opts.channel) throw new RangeError(`${name}: a bot token needs a channel`);
    if (!opts.botToken && !opts.apiUrl) throw new RangeError(`${name}: api_url is required`);
    this.sendResolved = opts.sendResolved;
    this.clock = deps.clock ?? systemClock;
    this.queues = deps.queues ?? defaultSlackQueues;
  }

  private get url(): string {
    return this.opts.apiUrl ?? SLACK_POST_MESSAGE_URL;
  }

  private get secrets(): string[] {
    return [this.url, ...(this.opts.botToken ? [this.opts.botToken] : [])];
  }

  /** The payload this integration would send for `ctx` (also used by tests). */
  payload(ctx: NotificationContext): SlackPayload {
    const thread_ts = this.opts.botToken ? this.threads.get(ctx.groupKey) : undefined;
    return slackPayload(buildContent(ctx, this.clock.now()), {
      channel: this.opts.channel,
      username: this.opts.username,
      icon_emoji: this.opts.iconEmoji,
      icon_url: this.opts.iconUrl,
      thread_ts,
    });
  }

  async notify(ctx: NotificationContext, signal: AbortSignal): Promise<void> {
    const body = this.payload(ctx);
    const destination = this.opts.botToken ? `${this.opts.botToken}\n${this.opts.channel}` : this.url;
    await this.queues.for(destination).send(() => this.attempt(ctx, body, signal), signal);
  }

  private async attempt(ctx: NotificationContext, payload: SlackPayload, signal: AbortSignal): Promise<Attempt> {
    const headers: Record<string, string> = this.opts.botToken ? { authorization: `Bearer ${this.opts.botToken}`, 'content-type': 'application/json; charset=utf-8' } : {};
    const r = await post({ url: this.url, body: JSON.stringify(payload), headers, timeoutMs: this.opts.timeoutMs, signal, secrets: this.secrets, what: this.name });
    const now = this.clock.now();
    if (r.status === 429) return { kind: 'rate_limited', retryAfterMs: retryAfterMs(r.headers, now) ?? DEFAULT_RETRY_AFTER_MS };
    checkStatus(r, { what: this.name, url: this.url, secrets: this.secrets, now });
    if (this.opts.botToken) this.checkApiAnswer(ctx, payload, r);
    else if (r.body.trim() !== 'ok') {
      // Alertmanager's checkTextResponseError: a webhook answers exactly "ok"
      throw new PermanentNotifyError(`${this.name}: unexpected answer from ${redactUrl(this.url)}: ${safeMessage(r.body.slice(0, 200), this.secrets)}`, r.status);
    }
    return { kind: 'sent' };
  }

  /** chat.postMessage answers 200 with `{ok, error, ts}`. Remembers the first message's ts as the group's thread. */
  private checkApiAnswer(ctx: NotificationContext, payload: SlackPayload, r: PostResult): void {
    let answer: { ok?: boolean; error?: string; ts?: string };
    try {
      answer = JSON.parse(r.body) as typeof answer;
    } catch {
      throw new PermanentNotifyError(`${this.name}: chat.postMessage answered with something other than JSON`, r.status);
    }
    if (!answer.ok) {
      const msg = `${this.name}: chat.postMessage failed: ${safeMessage(String(answer.error ?? 'unknown error'), this.secrets)}`;
      if (TRANSIENT_API_ERRORS.has(String(answer.error))) throw new RetryableNotifyError(msg);
      throw new PermanentNotifyError(msg, r.status);
    }
    if (ctx.status === 'resolved') {
      this.threads.delete(ctx.groupKey); // the next firing starts a new thread
    } else if (!payload.thread_ts && typeof answer.ts === 'string') {
      if (this.threads.size >= MAX_THREADS) this.threads.delete(this.threads.keys().next().value!);
      this.threads.set(ctx.groupKey, answer.ts);
    }
  }
}
