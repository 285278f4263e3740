// The Slack message (Block Kit) for one notification. Slack's limits, enforced here so a hostile or huge
// annotation can never get the message rejected: 50 blocks, 150 chars in a header, 3,000 per section
// text, 10 fields of 2,000, 75 per button label, 3,000 per URL — and messages above about 13k characters
// fail with msg_blocks_too_long (slackapi/bolt-js#2509), so the whole payload is kept under MAX_MESSAGE_CHARS.
import { headline, labelText, subjectLine, truncate, type MessageContent } from './content.js';

export const MAX_BLOCKS = 50;
export const MAX_SECTION_CHARS = 3000;
export const MAX_MESSAGE_CHARS = 11_000;
const MAX_HEADER = 150;
const MAX_FIELD = 2000;
const MAX_BUTTON_TEXT = 75;
const MAX_URL = 3000;
const MAX_LOG_LINE = 240;
const MAX_ALERT_LINES = 10;

export interface TextObject {
  type: 'plain_text' | 'mrkdwn';
  text: string;
  emoji?: boolean;
}
export type Block =
  | { type: 'header'; text: TextObject }
  | { type: 'section'; block_id?: string; text?: TextObject; fields?: TextObject[] }
  | { type: 'context'; block_id?: string; elements: TextObject[] }
  | { type: 'divider' }
  | { type: 'actions'; block_id?: string; elements: { type: 'button'; action_id: string; text: TextObject; url: string; style?: 'primary' | 'danger' }[] };

export interface SlackPayload {
  text: string;
  blocks: Block[];
  unfurl_links: false;
  unfurl_media: false;
  channel?: string;
  username?: string;
  icon_emoji?: string;
  icon_url?: string;
  thread_ts?: string;
}

/** Slack's mrkdwn control characters (api.slack.com "Escaping text"). */
export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** A link in mrkdwn; `|` and `>` would end the URL part, so they are percent-encoded. */
const link = (url: string, text: string): string => `<${url.replace(/\|/g, '%7C').replace(/>/g, '%3E')}|${esc(text)}>`;
const mrkdwn = (text: string, max = MAX_SECTION_CHARS): TextObject => ({ type: 'mrkdwn', text: truncate(text, max) });
/** Backticks would end a code block early. */
const codeSafe = (s: string): string => s.replace(/`/g, 'ˋ');

function fieldsBlock(c: MessageContent): Block | undefined {
  if (c.fields.length === 0) return undefined;
  return {
    type: 'section',
    block_id: 'fields',
    fields: c.fields.slice(0, 10).map((f) => mrkdwn(`*${esc(f.name)}*\n${esc(truncate(f.value, 300))}`, MAX_FIELD)),
  };
}

function textBlock(c: MessageContent, budget: { summary: number; description: number }): Block | undefined {
  const parts: string[] = [];
  if (c.summary) parts.push(`*${esc(truncate(c.summary, budget.summary))}*`);
  if (c.description) parts.push(esc(truncate(c.description, budget.description)));
  return parts.length ? { type: 'section', block_id: 'annotations', text: mrkdwn(parts.join('\n')) } : undefined;
}

function alertsBlock(c: MessageContent, maxLines: number): Block | undefined {
  if (c.alerts.length <= 1 || maxLines === 0) return undefined;
  const lines = c.alerts.slice(0, maxLines).map((a) => {
    const mark = a.status === 'firing' ? '🔥' : '✅';
    const value = a.value ? ` — ${esc(truncate(a.value, 60))}` : '';
    const summary = a.summary ? ` — ${esc(truncate(a.summary, 120))}` : '';
    return `${mark} \`${codeSafe(truncate(labelText(a.distinct) || '(same labels)', 160))}\`${value}${summary}`;
  });
  if (c.alerts.length > maxLines) lines.push(`…and ${c.alerts.length - maxLines} more`);
  return { type: 'section', block_id: 'alerts', text: mrkdwn(`*Alerts*\n${lines.join('\n')}`) };
}

function tracesBlock(c: MessageContent, max: number): Block | undefined {
  const traces = c.traces.slice(0, max).filter((t) => t.url.length <= 500);
  if (traces.length === 0) return undefined;
  const lines = traces.map((t) => {
    const series = truncate(labelText(t.series), 120);
    return `• ${link(t.url, t.traceId)} · ${Number.isFinite(t.value) ? String(t.value) : '?'}${series ? ` · \`${codeSafe(series)}\`` : ''}`;
  });
  return { type: 'section', block_id: 'traces', text: mrkdwn(`*Example traces*\n${lines.join('\n')}`) };
}

function logsBlock(c: MessageContent, max: number): Block | undefined {
  const logs = c.logs.slice(0, max);
  if (logs.length === 0) return undefined;
  const lines = logs.map((l) => truncate(`${l.time.toISOString()} ${l.service} ${l.level.toUpperCase()} ${l.message.replace(/\s+/g, ' ')}`, MAX_LOG_LINE));
  return { type: 'section', block_id: 'logs', text: mrkdwn(`*Recent errors*\n\`\`\`${esc(codeSafe(lines.join('\n')))}\`\`\``) };
}

function actionsBlock(c: MessageContent): Block | undefined {
  const elements = c.buttons
    .filter((b) => b.url.length <= MAX_URL)
    .map((b) => ({
      type: 'button' as const,
      action_id: b.id,
      text: { type: 'plain_text' as const, text: truncate(b.text, MAX_BUTTON_TEXT), emoji: true },
      url: b.url,
      ...(b.id === 'ack' ? { style: 'primary' as const } : {}),
    }));
  return elements.length ? { type: 'actions', block_id: 'links', elements } : undefined;
}

function contextBlock(c: MessageContent): Block {
  const bits = [`Group key: \`${codeSafe(truncate(c.groupKey, 300))}\``];
  if (c.escalationLevel > 0) bits.push(`escalation step ${c.escalationLevel}`);
  const elements: TextObject[] = [mrkdwn(bits.join(' · '), 1000)];
  if (c.notes.length) elements.push(mrkdwn(`⚠️ ${esc(c.notes.slice(0, 3).map((n) => truncate(n, 200)).join('; '))}`, 1000));
  return { type: 'context', block_id: 'meta', elements };
}

interface Budget {
  summary: number;
  description: number;
  alertLines: number;
  traces: number;
  logs: number;
}

function assemble(c: MessageContent, b: Budget): Block[] {
  const blocks: (Block | undefined)[] = [{ type: 'header', text: { type: 'plain_text', text: truncate(headline(c), MAX_HEADER), emoji: true } }];
  if (c.acknowledgedBy) {
    blocks.push({ type: 'section', block_id: 'ack', text: mrkdwn(`👀 *Acknowledged by ${esc(truncate(c.acknowledgedBy, 200))}* — repeats and escalation stop until it resolves.`) });
  }
  blocks.push(fieldsBlock(c), textBlock(c, b), alertsBlock(c, b.alertLines), tracesBlock(c, b.traces), logsBlock(c, b.logs), actionsBlock(c), contextBlock(c));
  return blocks.filter((x): x is Block => x !== undefined).slice(0, MAX_BLOCKS);
}

/** The payload for an incoming webhook (or chat.postMessage, which takes the same fields plus channel). */
export function slackPayload(c: MessageContent, extra: Pick<SlackPayload, 'channel' | 'username' | 'icon_emoji' | 'icon_url' | 'thread_ts'> = {}): SlackPayload {
  const text = truncate(`${c.emoji} ${subjectLine(c)}${c.summary ? ` — ${c.summary}` : ''}`, 1000);
  // shrink step by step until the whole message fits: least useful content goes first
  const steps: Partial<Budget>[] = [{}, { alertLines: 5 }, { description: 800, logs: 3 }, { alertLines: 0, description: 300 }, { logs: 0, traces: 1, summary: 200 }];
  let budget: Budget = { summary: 500, description: 2000, alertLines: MAX_ALERT_LINES, traces: 3, logs: 5 };
  let blocks: Block[] = [];
  for (const step of steps) {
    budget = { ...budget, ...step };
    blocks = assemble(c, budget);
    if (JSON.stringify(blocks).length + text.length <= MAX_MESSAGE_CHARS) break;
  }
  // last resort (many maximal URLs): drop the biggest buttons
  while (JSON.stringify(blocks).length + text.length > MAX_MESSAGE_CHARS) {
    const actions = blocks.find((b): b is Extract<Block, { type: 'actions' }> => b.type === 'actions');
    if (!actions || actions.elements.length === 0) break;
    const biggest = actions.elements.reduce((m, e, i, arr) => (e.url.length > arr[m]!.url.length ? i : m), 0);
    actions.elements.splice(biggest, 1);
    if (actions.elements.length === 0) blocks = blocks.filter((b) => b !== actions);
  }
  return { text, blocks, unfurl_links: false, unfurl_media: false, ...stripUndefined(extra) };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

