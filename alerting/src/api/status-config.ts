// config.original for GET /api/v2/status. amtool (`config show`, `config routes`) and Grafana parse it with
// Alertmanager's config.Load, which is strict: so Lantern-only keys are removed, and secrets are
// replaced with Alertmanager's own `<secret>` token, which its Secret/SecretURL types read back.
// Alertmanager 0.25 reads webhook `url` as a plain URL (a later version made it secret), so a webhook
// URL keeps its scheme and host and loses path and query, which is where webhook tokens live.
import { parse, stringify } from 'yaml';
import { isObject } from './validate.js';

export const SECRET = '<secret>';

/** Keys whose value is a secret wherever they appear (Alertmanager's Secret/SecretURL fields). */
const SECRET_KEYS = new Set([
  'smtp_auth_password', 'smtp_auth_secret', 'slack_api_url', 'auth_password', 'auth_secret', 'password', 'credentials',
  'bearer_token', 'client_secret', 'routing_key', 'service_key', 'api_key', 'api_secret', 'bot_token', 'user_key',
  'token', 'secret_key', 'webhook_url', 'app_token', 'opsgenie_api_key', 'victorops_api_key', 'wechat_api_secret',
  'telegram_bot_token', 'pagerduty_routing_key',
]);

/** Keys that are secret only inside one integration's config list. */
const SECRET_IN: Record<string, Set<string>> = {
  slack_configs: new Set(['api_url']),
};
const URL_IN: Record<string, Set<string>> = {
  webhook_configs: new Set(['url']),
};

export interface StatusConfigOptions {
  /**
   * Lantern-only keys to drop, as dotted paths with `*` for any list index or map key, e.g.
   * `lantern`, `route.escalation`, `receivers.*.slack_configs.*.blocks`. Route keys apply at every depth
   * (`route.x` also drops `route.routes.*.x`).
   */
  lanternOnlyKeys: readonly string[];
}

function redactUrl(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    const u = new URL(v);
    return `${u.protocol}//${u.host}/${SECRET}`;
  } catch {
    return SECRET;
  }
}

function matches(pattern: string[], path: string[]): boolean {
  if (pattern.length !== path.length) return false;
  return pattern.every((p, i) => p === '*' || p === path[i]);
}

/** Paths with the nested-route form normalised: route.routes.3.routes.0.x → route.x. */
function routePath(path: string[]): string[] {
  if (path[0] !== 'route') return path;
  const out = ['route'];
  let i = 1;
  while (path[i] === 'routes' && i + 1 < path.length) i += 2;
  return out.concat(path.slice(i));
}

function walk(v: unknown, path: string[], drop: string[][], parentList: string | undefined): unknown {
  if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, String(i)], drop, path[path.length - 1]));
  if (!isObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) {
    const p = [...path, k];
    if (drop.some((d) => matches(d, p) || matches(d, routePath(p)))) continue;
    if (val !== null && val !== undefined && val !== '' && (SECRET_KEYS.has(k) || (parentList && SECRET_IN[parentList]?.has(k)))) out[k] = SECRET;
    else if (parentList && URL_IN[parentList]?.has(k)) out[k] = redactUrl(val);
    else out[k] = walk(val, p, drop, undefined);
  }
  return out;
}

/** The YAML to show as config.original: Lantern-only keys removed, secrets redacted. */
export function statusConfigYaml(original: string, opts: StatusConfigOptions): string {
  const doc: unknown = parse(original) ?? {};
  const drop = opts.lanternOnlyKeys.map((k) => k.split('.'));
  return stringify(walk(doc, [], drop, undefined), { lineWidth: 0 });
}
