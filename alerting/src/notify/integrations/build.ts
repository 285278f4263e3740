// Receiver config (Alertmanager's slack_configs, email_configs, webhook_configs, globals already applied
// by config/alertmanager.ts) → integrations, named `<type>[<index>]` as Alertmanager names them.
// *_file secrets are read here, once per (re)load; an unreadable file is a ConfigError naming the key.
import { readFileSync } from 'node:fs';
import type { HttpConfigRaw } from '../../config/alertmanager-schema.js';
import type { ReceiverConfig } from '../../config/alertmanager.js';
import type { Secret } from '../../config/alertmanager-values.js';
import type { Clock } from '../../model/clock.js';
import { ConfigError } from '../../model/errors.js';
import type { Integration } from '../../model/notification.js';
import type { NotificationLog } from '../../model/stores.js';
import { EmailIntegration } from './email.js';
import { SlackIntegration } from './slack.js';
import { defaultSlackQueues, type SlackQueues } from './slack-queue.js';
import { WebhookIntegration } from './webhook.js';

export interface IntegrationDeps {
  clock?: Clock;
  /**
   * Shared Slack send queues (one per destination); default: the process-wide set (no metrics). The engine
   * should build one `new SlackQueues(DEFAULT_SLACK_QUEUE, clock, queueMetrics(registry))` and pass it to
   * every (re)load, so a reload keeps the queues and their rate-limit pauses.
   */
  slackQueues?: SlackQueues;
  /** Lets email know a group's thread root was sent before a restart. */
  nflog?: NotificationLog;
  /** Where the config was read from, for error messages. */
  file?: string;
}

/** Per-request bound for Slack and email when the config sets none (webhooks follow Alertmanager: none). */
export const DEFAULT_SEND_TIMEOUT_MS = 15_000;

type SecretLike = Secret | string | undefined;
const reveal = (s: SecretLike): string | undefined => (s === undefined ? undefined : typeof s === 'string' ? s : s.reveal());

function readSecretFile(path: string, key: string, file?: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(key, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, file);
  }
}

/** http_config credentials → an Authorization header (basic_auth, authorization, bearer_token). */
function authHeader(h: HttpConfigRaw | undefined, key: string, file?: string): string | undefined {
  if (!h) return undefined;
  if (h.basic_auth) {
    const user = h.basic_auth.username ?? (h.basic_auth.username_file ? readSecretFile(h.basic_auth.username_file, `${key}.basic_auth.username_file`, file) : '');
    const pass = reveal(h.basic_auth.password) ?? (h.basic_auth.password_file ? readSecretFile(h.basic_auth.password_file, `${key}.basic_auth.password_file`, file) : '');
    return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  }
  if (h.authorization) {
    const cred = reveal(h.authorization.credentials) ?? (h.authorization.credentials_file ? readSecretFile(h.authorization.credentials_file, `${key}.authorization.credentials_file`, file) : undefined);
    return cred ? `${h.authorization.type ?? 'Bearer'} ${cred}` : undefined;
  }
  const bearer = reveal(h.bearer_token) ?? (h.bearer_token_file ? readSecretFile(h.bearer_token_file, `${key}.bearer_token_file`, file) : undefined);
  return bearer ? `Bearer ${bearer}` : undefined;
}

/** A bot token for Slack, Alertmanager-style: http_config credentials with api_url at chat.postMessage. */
function slackBotToken(h: HttpConfigRaw | undefined, key: string, file?: string): string | undefined {
  const header = authHeader(h, key, file);
  return header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
}

const hostPortText = (hp: { host: string; port: string }): string => (hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`);

export function integrationsFor(receiver: ReceiverConfig, deps: IntegrationDeps = {}): Integration[] {
  const out: Integration[] = [];
  const base = `receivers.${receiver.name}`;
  const queues = deps.slackQueues ?? defaultSlackQueues;

  receiver.slack.forEach((c, i) => {
    const key = `${base}.slack_configs[${i}]`;
    const apiUrl = reveal(c.api_url) ?? (c.api_url_file ? readSecretFile(c.api_url_file, `${key}.api_url_file`, deps.file) : undefined);
    // bot mode only when the URL is the Web API's chat.postMessage (or absent): a webhook ignores credentials
    const isWebApi = !apiUrl || /\/chat\.postMessage$/.test(new URL(apiUrl).pathname);
    const botToken = isWebApi ? slackBotToken(c.http_config, `${key}.http_config`, deps.file) : undefined;
    if (!apiUrl && !botToken) throw new ConfigError(`${key}.api_url`, 'no Slack API URL nor global slack_api_url set', deps.file);
    if (botToken && !c.channel) throw new ConfigError(`${key}.channel`, 'a Slack bot token (http_config authorization) needs a channel', deps.file);
    out.push(
      new SlackIntegration(
        `slack[${i}]`,
        {
          apiUrl,
          sendResolved: c.send_resolved,
          channel: c.channel,
          username: c.username,
          iconEmoji: c.icon_emoji,
          iconUrl: c.icon_url,
          botToken,
          timeoutMs: c.timeout || DEFAULT_SEND_TIMEOUT_MS,
        },
        { clock: deps.clock, queues },
      ),
    );
  });

  receiver.email.forEach((c, i) => {
    const key = `${base}.email_configs[${i}]`;
    if (!c.smarthost.host) throw new ConfigError(`${key}.smarthost`, 'no smarthost set, and no global smtp_smarthost', deps.file);
    if (!c.from) throw new ConfigError(`${key}.from`, 'no from address set, and no global smtp_from', deps.file);
    const password = reveal(c.auth_password) ?? (c.auth_password_file ? readSecretFile(c.auth_password_file, `${key}.auth_password_file`, deps.file) : undefined);
    const tls = c.tls_config;
    out.push(
      new EmailIntegration(
        `email[${i}]`,
        {
          to: c.to,
          from: c.from,
          smarthost: hostPortText(c.smarthost),
          hello: c.hello,
          authUsername: c.auth_username,
          authPassword: password,
          requireTls: c.require_tls,
          forceImplicitTls: c.force_implicit_tls,
          tls: tls ? { rejectUnauthorized: !tls.insecure_skip_verify, ca: tls.ca ?? (tls.ca_file ? readSecretFile(tls.ca_file, `${key}.tls_config.ca_file`, deps.file) : undefined), serverName: tls.server_name } : undefined,
          headers: c.headers ?? {},
          sendResolved: c.send_resolved,
          timeoutMs: DEFAULT_SEND_TIMEOUT_MS,
        },
        { clock: deps.clock, nflog: deps.nflog },
      ),
    );
  });

  receiver.webhook.forEach((c, i) => {
    const key = `${base}.webhook_configs[${i}]`;
    const url = reveal(c.url) ?? (c.url_file ? readSecretFile(c.url_file, `${key}.url_file`, deps.file) : undefined);
    if (!url) throw new ConfigError(`${key}.url`, 'one of url or url_file must be configured', deps.file);
    const auth = authHeader(c.http_config, `${key}.http_config`, deps.file);
    out.push(
      new WebhookIntegration(
        `webhook[${i}]`,
        { url, sendResolved: c.send_resolved, maxAlerts: c.max_alerts, timeoutMs: c.timeout ?? 0, headers: auth ? { authorization: auth } : undefined },
        { clock: deps.clock },
      ),
    );
  });

  return out;
}
