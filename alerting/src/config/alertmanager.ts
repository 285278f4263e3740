// Loads an Alertmanager config file (the same file Alertmanager and `amtool check-config` read) and checks it as
// Alertmanager's config.Load does. Errors name the file and the key: `am.yml: route.routes[2].group_wait: …`.
//
// Lantern extension (not in Alertmanager): per route `escalation: [{after: <duration>, receiver: <name>}]`.
// originalForAmtool() removes it, so the rest of the file stays valid for amtool and Grafana.
import { readFile } from 'node:fs/promises';
import { parseDocument, isMap, isSeq, stringify, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../model/errors.js';
import type { LabelMatcher } from '../model/matchers.js';
import {
  alertmanagerConfigSchema,
  type EmailConfigRaw,
  type GlobalRaw,
  type HttpConfigRaw,
  type RouteRaw,
  type SlackConfigRaw,
  type TimeIntervalSpec,
  type WebhookConfigRaw,
} from './alertmanager-schema.js';
import { type HostPort, type Secret, SECRET_TOKEN } from './alertmanager-values.js';

export { Secret, SECRET_TOKEN } from './alertmanager-values.js';
export type { TimeIntervalSpec, Range, TimeRangeSpec } from './alertmanager-schema.js';

/** Alertmanager's defaults (config.DefaultGlobalConfig, dispatch.DefaultRouteOpts). */
export const AM_DEFAULTS = {
  resolveTimeoutMs: 5 * 60_000,
  groupWaitMs: 30_000,
  groupIntervalMs: 5 * 60_000,
  repeatIntervalMs: 4 * 3_600_000,
  smtpHello: 'localhost',
  smtpRequireTls: true,
} as const;

export interface GlobalConfig {
  resolveTimeoutMs: number;
  httpConfig?: HttpConfigRaw;
  smtpFrom?: string;
  smtpHello: string;
  smtpSmarthost?: HostPort;
  smtpAuthUsername?: string;
  smtpAuthPassword?: Secret;
  smtpAuthPasswordFile?: string;
  smtpAuthSecret?: Secret;
  smtpAuthIdentity?: string;
  smtpRequireTls: boolean;
  slackApiUrl?: Secret;
  slackApiUrlFile?: string;
}

/** A route as written (inheritance is resolved by dispatch/route.ts). Durations in ms; undefined = inherit. */
export interface RouteConfig {
  /** Where it is in the file, e.g. `route.routes[2]`, for messages. */
  path: string;
  receiver?: string;
  /** undefined = inherit; [] = no grouping labels. */
  groupBy?: string[];
  groupByAll: boolean;
  /** match + match_re + matchers, in that order (dispatch sorts them as Alertmanager does). */
  matchers: LabelMatcher[];
  continue: boolean;
  groupWaitMs?: number;
  groupIntervalMs?: number;
  repeatIntervalMs?: number;
  muteTimeIntervals: string[];
  activeTimeIntervals: string[];
  /** Lantern extension; undefined = inherit. */
  escalation?: EscalationStep[];
  routes: RouteConfig[];
}

export interface EscalationStep {
  /** Delay after the group's first notification, while it stays unacknowledged. */
  afterMs: number;
  receiver: string;
}

/** Integration configs keep Alertmanager's key names (see its docs); globals are already applied. */
export type SlackConfig = SlackConfigRaw;
export type WebhookConfig = WebhookConfigRaw;
export type EmailConfig = Omit<EmailConfigRaw, 'smarthost' | 'from' | 'hello' | 'require_tls'> & {
  smarthost: HostPort;
  from: string;
  hello: string;
  require_tls: boolean;
};

export interface ReceiverConfig {
  name: string;
  slack: SlackConfig[];
  email: EmailConfig[];
  webhook: WebhookConfig[];
}

export interface InhibitRuleConfig {
  sourceMatchers: LabelMatcher[];
  targetMatchers: LabelMatcher[];
  equal: string[];
}

export interface AlertmanagerConfig {
  file?: string;
  /** The file's text as read (with secrets): never serve it, use redactedOriginal(). */
  original: string;
  global: GlobalConfig;
  route: RouteConfig;
  receivers: ReceiverConfig[];
  inhibitRules: InhibitRuleConfig[];
  /** time_intervals and the deprecated mute_time_intervals, by name. */
  timeIntervals: Record<string, TimeIntervalSpec[]>;
  /** Accepted and ignored: Lantern does not run Go templates. */
  templates: string[];
  /** Things the operator should know that are not errors (ignored templates, deprecated keys). */
  notes: string[];
}

/** All problems found, one per key; `key` and the message of the first are the ConfigError's. */
export class AlertmanagerConfigError extends ConfigError {
  constructor(
    readonly issues: Array<{ key: string; message: string }>,
    file?: string,
  ) {
    super(
      issues[0]!.key,
      issues[0]!.message + issues.slice(1).map((i) => `\n${file ? `${file}: ` : ''}${i.key ? `${i.key}: ` : ''}${i.message}`).join(''),
      file,
    );
  }
}

export async function loadAlertmanagerConfigFile(file: string): Promise<AlertmanagerConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ConfigError('', `cannot read the Alertmanager config: ${(e as Error).message}`, file);
  }
  return parseAlertmanagerConfig(text, file);
}

/** Parses and checks the YAML text. Throws AlertmanagerConfigError (a ConfigError). */
export function parseAlertmanagerConfig(text: string, file?: string): AlertmanagerConfig {
  const fail = (key: string, message: string): never => {
    throw new AlertmanagerConfigError([{ key, message }], file);
  };
  const doc = parseDocument(text, { version: '1.1', uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    fail('', `invalid YAML${pos ? ` at line ${pos.line}, column ${pos.col}` : ''}: ${e.message.split('\n')[0]}`);
  }
  const js: unknown = doc.toJS({ maxAliasCount: 1000 });
  if (js !== null && js !== undefined && (typeof js !== 'object' || Array.isArray(js))) fail('', 'the config must be a YAML mapping');
  const parsed = alertmanagerConfigSchema.safeParse(stripNulls(js ?? {}));
  if (!parsed.success) throw new AlertmanagerConfigError(zodIssues(parsed.error), file);
  const raw = parsed.data;

  const issues: Array<{ key: string; message: string }> = [];
  const report = (key: string, message: string): void => void issues.push({ key, message });

  const global = buildGlobal(raw.global, report);
  const receivers = buildReceivers(raw.receivers ?? [], global, report);

  if (!raw.route) fail('route', 'no route provided in config');
  const route = buildRoute(raw.route!, 'route');
  if (route.continue) report('route.continue', 'cannot have continue in root route');
  if (!route.receiver) report('route.receiver', 'root route must specify a default receiver');
  if (route.matchers.length > 0) report('route', 'root route must not have any matchers');
  if (route.muteTimeIntervals.length > 0) report('route.mute_time_intervals', 'root route must not have any mute time intervals');
  if (route.activeTimeIntervals.length > 0) report('route.active_time_intervals', 'root route must not have any active time intervals');

  const receiverNames = new Set(receivers.map((r) => r.name));
  const timeIntervals: Record<string, TimeIntervalSpec[]> = {};
  const notes: string[] = [];
  for (const [block, list] of [
    ['mute_time_intervals', raw.mute_time_intervals ?? []],
    ['time_intervals', raw.time_intervals ?? []],
  ] as const) {
    list.forEach((ti, i) => {
      const name = ti.name!;
      if (name in timeIntervals) report(`${block}[${i}].name`, `${block === 'mute_time_intervals' ? 'mute time interval' : 'time interval'} ${JSON.stringify(name)} is not unique`);
      timeIntervals[name] = ti.time_intervals;
    });
  }
  if ((raw.mute_time_intervals ?? []).length > 0) notes.push('mute_time_intervals is deprecated in Alertmanager: use time_intervals (both are honoured)');
  checkRouteRefs(route, receiverNames, timeIntervals, report);

  const templates = raw.templates ?? [];
  if (templates.length > 0) notes.push(`templates (${templates.join(', ')}) are ignored: Lantern builds its messages in code`);

  if (issues.length > 0) throw new AlertmanagerConfigError(issues, file);
  return {
    file,
    original: text,
    global,
    route,
    receivers,
    inhibitRules: (raw.inhibit_rules ?? []).map((r) => ({
      sourceMatchers: [...(r.source_match ?? []), ...(r.source_match_re ?? []), ...(r.source_matchers ?? [])],
      targetMatchers: [...(r.target_match ?? []), ...(r.target_match_re ?? []), ...(r.target_matchers ?? [])],
      equal: r.equal ?? [],
    })),
    timeIntervals,
    templates,
    notes,
  };
}

// Go's yaml.v2 leaves a field at its zero value when the YAML says null; in label maps a null is an error.
const KEEP_NULLS = new Set(['match', 'match_re', 'source_match', 'source_match_re', 'target_match', 'target_match_re', 'headers']);
function stripNulls(v: unknown, parentKey = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => stripNulls(x));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (x === null && !KEEP_NULLS.has(parentKey)) continue;
      out[k] = stripNulls(x, k);
    }
    return out;
  }
  return v;
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}

function zodIssues(err: z.ZodError): Array<{ key: string; message: string }> {
  const out: Array<{ key: string; message: string }> = [];
  for (const iss of err.issues) {
    if (iss.code === 'unrecognized_keys') {
      for (const k of iss.keys)
        out.push({ key: formatPath([...iss.path, k]), message: 'unknown key: not an Alertmanager config key here (check spelling and indentation)' });
    } else if (iss.code === 'invalid_union' && iss.path.length > 0) {
      out.push({ key: formatPath(iss.path), message: 'expected a string' });
    } else {
      out.push({ key: formatPath(iss.path), message: iss.message.replace(/^Invalid input: /, '') });
    }
  }
  return out;
}

function buildGlobal(g: GlobalRaw | undefined, report: (k: string, m: string) => void): GlobalConfig {
  if (g?.slack_api_url && g.slack_api_url_file) report('global', 'at most one of slack_api_url & slack_api_url_file must be configured');
  if (g?.smtp_auth_password && g.smtp_auth_password_file) report('global', 'at most one of smtp_auth_password & smtp_auth_password_file must be configured');
  if (g?.opsgenie_api_key && g.opsgenie_api_key_file) report('global', 'at most one of opsgenie_api_key & opsgenie_api_key_file must be configured');
  if (g?.victorops_api_key && g.victorops_api_key_file) report('global', 'at most one of victorops_api_key & victorops_api_key_file must be configured');
  return {
    resolveTimeoutMs: g?.resolve_timeout ?? AM_DEFAULTS.resolveTimeoutMs,
    httpConfig: g?.http_config,
    smtpFrom: g?.smtp_from,
    smtpHello: g?.smtp_hello || AM_DEFAULTS.smtpHello,
    smtpSmarthost: g?.smtp_smarthost,
    smtpAuthUsername: g?.smtp_auth_username,
    smtpAuthPassword: g?.smtp_auth_password,
    smtpAuthPasswordFile: g?.smtp_auth_password_file,
    smtpAuthSecret: g?.smtp_auth_secret,
    smtpAuthIdentity: g?.smtp_auth_identity,
    smtpRequireTls: g?.smtp_require_tls ?? AM_DEFAULTS.smtpRequireTls,
    slackApiUrl: g?.slack_api_url,
    slackApiUrlFile: g?.slack_api_url_file,
  };
}

type ReceiverRawList = NonNullable<z.infer<typeof alertmanagerConfigSchema>['receivers']>;

function buildReceivers(list: ReceiverRawList, g: GlobalConfig, report: (k: string, m: string) => void): ReceiverConfig[] {
  const seen = new Set<string>();
  return list.map((r, i) => {
    const at = `receivers[${i}]`;
    if (seen.has(r.name)) report(`${at}.name`, `notification config name ${JSON.stringify(r.name)} is not unique`);
    seen.add(r.name);
    const email = (r.email_configs ?? []).map((ec, j): EmailConfig => {
      const smarthost = ec.smarthost ?? g.smtpSmarthost;
      const from = ec.from || g.smtpFrom;
      if (!smarthost) report(`${at}.email_configs[${j}].smarthost`, 'no global SMTP smarthost set');
      if (!from) report(`${at}.email_configs[${j}].from`, 'no global SMTP from set');
      const inheritPassword = !ec.auth_password && !ec.auth_password_file;
      return {
        ...ec,
        smarthost: smarthost ?? { host: '', port: '' },
        from: from ?? '',
        hello: ec.hello || g.smtpHello,
        auth_username: ec.auth_username || g.smtpAuthUsername,
        auth_password: inheritPassword ? g.smtpAuthPassword : ec.auth_password,
        auth_password_file: inheritPassword ? g.smtpAuthPasswordFile : ec.auth_password_file,
        auth_secret: ec.auth_secret ?? g.smtpAuthSecret,
        auth_identity: ec.auth_identity || g.smtpAuthIdentity,
        require_tls: ec.require_tls ?? g.smtpRequireTls,
        headers: ec.headers,
      };
    });
    const slack = (r.slack_configs ?? []).map((sc, j): SlackConfig => {
      if (!sc.api_url && !sc.api_url_file) {
        if (!g.slackApiUrl && !g.slackApiUrlFile) report(`${at}.slack_configs[${j}].api_url`, 'no global Slack API URL set either inline or in a file');
        return { ...sc, api_url: g.slackApiUrl, api_url_file: g.slackApiUrlFile, http_config: sc.http_config ?? g.httpConfig };
      }
      return { ...sc, http_config: sc.http_config ?? g.httpConfig };
    });
    const webhook = (r.webhook_configs ?? []).map((wc): WebhookConfig => ({ ...wc, http_config: wc.http_config ?? g.httpConfig }));
    return { name: r.name, slack, email, webhook };
  });
}

function buildRoute(r: RouteRaw, path: string): RouteConfig {
  const groupBy = r.group_by?.filter((l) => l !== '...');
  return {
    path,
    receiver: r.receiver || undefined,
    groupBy: r.group_by === undefined ? undefined : groupBy,
    groupByAll: (r.group_by ?? []).includes('...'),
    matchers: [...(r.match ?? []), ...(r.match_re ?? []), ...(r.matchers ?? [])],
    continue: r.continue,
    groupWaitMs: r.group_wait,
    groupIntervalMs: r.group_interval,
    repeatIntervalMs: r.repeat_interval,
    muteTimeIntervals: r.mute_time_intervals ?? [],
    activeTimeIntervals: r.active_time_intervals ?? [],
    escalation: r.escalation?.map((s) => ({ afterMs: s.after, receiver: s.receiver })),
    routes: (r.routes ?? []).map((c, i) => buildRoute(c, `${path}.routes[${i}]`)),
  };
}

function checkRouteRefs(
  r: RouteConfig,
  receivers: Set<string>,
  intervals: Record<string, unknown>,
  report: (k: string, m: string) => void,
): void {
  if (r.receiver && !receivers.has(r.receiver)) report(`${r.path}.receiver`, `undefined receiver ${JSON.stringify(r.receiver)} used in route`);
  r.escalation?.forEach((s, i) => {
    if (!receivers.has(s.receiver)) report(`${r.path}.escalation[${i}].receiver`, `undefined receiver ${JSON.stringify(s.receiver)} used in escalation`);
  });
  for (const key of ['mute_time_intervals', 'active_time_intervals'] as const) {
    const names = key === 'mute_time_intervals' ? r.muteTimeIntervals : r.activeTimeIntervals;
    names.forEach((n, i) => {
      if (!(n in intervals)) report(`${r.path}.${key}[${i}]`, `undefined time interval ${JSON.stringify(n)} used in route`);
    });
  }
  for (const c of r.routes) checkRouteRefs(c, receivers, intervals, report);
}

// ---- what may leave the process ----

/** Keys Lantern adds to Alertmanager's format (removed for amtool, Grafana and /api/v2/status). */
export const LANTERN_ROUTE_KEYS = ['escalation'] as const;

/** The config text without Lantern-only keys, comments kept: what `amtool check-config` accepts. */
export function originalForAmtool(config: Pick<AlertmanagerConfig, 'original'>): string {
  const doc = parseDocument(config.original, { version: '1.1' });
  if (doc.errors.length > 0) return config.original; // not YAML: nothing to strip, let the checker say why
  stripLanternKeys(doc);
  return doc.toString();
}

/**
 * The config for /api/v2/status `config.original`: Lantern-only keys removed and every secret replaced by
 * `<secret>` (Alertmanager's SecretURL/Secret accept it back). Comments are dropped: they could quote a secret.
 */
export function redactedOriginal(config: Pick<AlertmanagerConfig, 'original'>): string {
  const doc = parseDocument(config.original, { version: '1.1' });
  if (doc.errors.length > 0) return '';
  stripLanternKeys(doc);
  const js = doc.toJS({ maxAliasCount: 1000 }) as Record<string, unknown> | null;
  redactSecrets(js, []);
  return stringify(js ?? {}, { version: '1.1', aliasDuplicateObjects: false });
}

function stripLanternKeys(doc: Document): void {
  const walk = (route: unknown): void => {
    if (!isMap(route)) return;
    for (const k of LANTERN_ROUTE_KEYS) route.delete(k);
    const children = route.get('routes');
    if (isSeq(children)) for (const c of children.items) walk(c);
  };
  walk(doc.get('route'));
}

/** Keys holding secrets, wherever they appear (Alertmanager's Secret/SecretURL fields). */
const SECRET_KEYS = new Set([
  'slack_api_url',
  'smtp_auth_password',
  'smtp_auth_secret',
  'opsgenie_api_key',
  'wechat_api_secret',
  'victorops_api_key',
  'api_url',
  'auth_password',
  'auth_secret',
  'password',
  'credentials',
  'bearer_token',
  'key',
  'client_secret',
]);

/**
 * A webhook URL keeps its scheme and host: Alertmanager ≤ 0.25 (Debian's amtool) parses webhook `url` as a plain
 * URL and rejects a bare `<secret>`; path, query and credentials (where tokens live) become `<secret>`.
 */
function redactWebhookUrl(s: string): string {
  try {
    const u = new URL(s);
    if (u.protocol === 'http:' || u.protocol === 'https:') return `${u.protocol}//${u.host}/${SECRET_TOKEN}`;
  } catch {
    // not a URL: fall through
  }
  return SECRET_TOKEN;
}

function redactSecrets(v: unknown, path: string[]): void {
  if (Array.isArray(v)) {
    v.forEach((x) => redactSecrets(x, path));
    return;
  }
  if (!v || typeof v !== 'object') return;
  const o = v as Record<string, unknown>;
  for (const [k, x] of Object.entries(o)) {
    // `url` is a secret in webhook_configs; proxy_url and the like are not.
    if (k === 'url' && typeof x === 'string' && x !== '') o[k] = redactWebhookUrl(x);
    else if (SECRET_KEYS.has(k) && typeof x === 'string' && x !== '') o[k] = SECRET_TOKEN;
    else redactSecrets(x, [...path, k]);
  }
}
