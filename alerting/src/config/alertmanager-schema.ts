// The shape of an Alertmanager config file, key by key, as zod schemas. Unknown keys are errors, as with
// Alertmanager's yaml.UnmarshalStrict. Cross-references (receivers, time intervals) are checked in alertmanager.ts.
import { z } from 'zod';
import { LABEL_NAME } from '../model/labels.js';
import { parseMatchers, type LabelMatcher, compileAnchored, RegexError, LabelMatcher as Matcher } from '../model/matchers.js';
import { ParseError } from '../model/matchers.js';
import { checkUrl, parseGoDuration, parseHostPort, parsePromDuration, Secret, SECRET_TOKEN } from './alertmanager-values.js';

/** Config regexes may be long alternations; the API's 1 KiB limit does not apply to files an operator wrote. */
const CONFIG_MAX_REGEX_BYTES = 64 * 1024;

// yaml.v2 reads any scalar into a string field (`name: 123` is "123").
const str = z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v));

const promDuration = str.transform((s, ctx) => {
  try {
    return parsePromDuration(s);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});

const goDuration = str.transform((s, ctx) => {
  try {
    const ms = parseGoDuration(s);
    if (ms < 0) throw new Error('must not be negative');
    return ms;
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});

const url = str.refine(
  (s) => {
    try {
      checkUrl(s);
      return true;
    } catch {
      return false;
    }
  },
  { error: (iss) => urlError(String(iss.input)) },
);

function urlError(s: string): string {
  try {
    checkUrl(s);
    return 'invalid URL';
  } catch (e) {
    return (e as Error).message;
  }
}

/** A secret URL: `<secret>` is accepted as Alertmanager does, so a config read back from /api/v2/status loads. */
const secretUrl = str
  .refine((s) => s === SECRET_TOKEN || urlError(s) === 'invalid URL', { error: (iss) => urlError(String(iss.input)) })
  .transform((s) => new Secret(s));

const secret = str.transform((s) => new Secret(s));

const hostPort = str.transform((s, ctx) => {
  if (s === '') return undefined;
  try {
    return parseHostPort(s);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});

const labelName = str.refine((s) => LABEL_NAME.test(s), { error: (iss) => `invalid label name ${JSON.stringify(iss.input)}` });

/** `matchers:` — a list of matcher strings, each possibly holding several (`a="b", c=~"d"`). */
const matcherList = z.array(str).transform((lines, ctx) => {
  const out: LabelMatcher[] = [];
  lines.forEach((line, i) => {
    try {
      out.push(...parseMatchers(line, { maxRegexBytes: CONFIG_MAX_REGEX_BYTES }));
    } catch (e) {
      const msg = e instanceof ParseError ? `${e.reason} (in ${JSON.stringify(line)} at position ${e.position})` : (e as Error).message;
      ctx.addIssue({ code: 'custom', message: msg, path: [i] });
    }
  });
  return out;
});

/** Legacy `match:` (equality) and `match_re:` (regex) maps. */
const matchMap = (type: '=' | '=~') =>
  z.record(z.string(), z.union([z.string(), z.number(), z.boolean()], { error: () => (type === '=' ? 'expected a string value' : 'invalid regexp value') })).transform((m, ctx) => {
    const out: LabelMatcher[] = [];
    for (const [k, raw] of Object.entries(m)) {
      if (!LABEL_NAME.test(k)) {
        ctx.addIssue({ code: 'custom', message: `invalid label name ${JSON.stringify(k)}`, path: [k] });
        continue;
      }
      try {
        // Alertmanager builds these from the compiled regex's String(), i.e. the anchored form; route keys show it.
        if (type === '=~') compileAnchored(String(raw), CONFIG_MAX_REGEX_BYTES);
        out.push(new Matcher(type, k, type === '=~' ? `^(?:${String(raw)})$` : String(raw)));
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: e instanceof RegexError ? e.reason : (e as Error).message, path: [k] });
      }
    }
    return out;
  });

// ---- http_config (prometheus/common HTTPClientConfig, the parts that matter here) ----

const tlsConfig = z.strictObject({
  ca: str.optional(),
  cert: str.optional(),
  key: secret.optional(),
  ca_file: str.optional(),
  cert_file: str.optional(),
  key_file: str.optional(),
  ca_ref: str.optional(),
  cert_ref: str.optional(),
  key_ref: str.optional(),
  server_name: str.optional(),
  insecure_skip_verify: z.boolean().optional(),
  min_version: str.optional(),
  max_version: str.optional(),
});

const httpConfig = z
  .strictObject({
    basic_auth: z
      .strictObject({ username: str.optional(), username_file: str.optional(), password: secret.optional(), password_file: str.optional() })
      .optional(),
    authorization: z.strictObject({ type: str.optional(), credentials: secret.optional(), credentials_file: str.optional() }).optional(),
    oauth2: z.record(z.string(), z.unknown()).optional(),
    bearer_token: secret.optional(),
    bearer_token_file: str.optional(),
    tls_config: tlsConfig.optional(),
    proxy_url: url.optional(),
    no_proxy: str.optional(),
    proxy_from_environment: z.boolean().optional(),
    proxy_connect_header: z.record(z.string(), z.array(secret)).optional(),
    follow_redirects: z.boolean().optional(),
    enable_http2: z.boolean().optional(),
    http_headers: z.record(z.string(), z.unknown()).optional(),
  })
  .superRefine((h, ctx) => {
    // prometheus/common HTTPClientConfig.Validate
    const n = [h.basic_auth, h.authorization, h.oauth2, h.bearer_token ?? h.bearer_token_file].filter((x) => x !== undefined).length;
    if (n > 1) ctx.addIssue({ code: 'custom', message: 'at most one of basic_auth, oauth2, bearer_token, bearer_token_file & authorization must be configured' });
    if (h.bearer_token && h.bearer_token_file) ctx.addIssue({ code: 'custom', message: 'at most one of bearer_token & bearer_token_file must be configured' });
    if (h.authorization?.credentials && h.authorization.credentials_file)
      ctx.addIssue({ code: 'custom', message: 'at most one of authorization credentials & credentials_file must be configured', path: ['authorization'] });
    if (h.authorization?.type?.toLowerCase() === 'basic')
      ctx.addIssue({ code: 'custom', message: 'authorization type cannot be set to "basic", use "basic_auth" instead', path: ['authorization', 'type'] });
    if (h.basic_auth?.password && h.basic_auth.password_file)
      ctx.addIssue({ code: 'custom', message: 'at most one of basic_auth password & password_file must be configured', path: ['basic_auth'] });
  });

export type HttpConfigRaw = z.infer<typeof httpConfig>;

// ---- global ----

export const globalSchema = z.strictObject({
  resolve_timeout: promDuration.optional(),
  http_config: httpConfig.optional(),
  smtp_from: str.optional(),
  smtp_hello: str.optional(),
  smtp_smarthost: hostPort.optional(),
  smtp_auth_username: str.optional(),
  smtp_auth_password: secret.optional(),
  smtp_auth_password_file: str.optional(),
  smtp_auth_secret: secret.optional(),
  smtp_auth_identity: str.optional(),
  smtp_require_tls: z.boolean().optional(),
  smtp_tls_config: tlsConfig.optional(),
  slack_api_url: secretUrl.optional(),
  slack_api_url_file: str.optional(),
  // Other integrations' globals: accepted so existing files load; Lantern has no such integrations.
  pagerduty_url: url.optional(),
  opsgenie_api_url: url.optional(),
  opsgenie_api_key: secret.optional(),
  opsgenie_api_key_file: str.optional(),
  wechat_api_url: url.optional(),
  wechat_api_secret: secret.optional(),
  wechat_api_corp_id: str.optional(),
  victorops_api_url: url.optional(),
  victorops_api_key: secret.optional(),
  victorops_api_key_file: str.optional(),
  telegram_api_url: url.optional(),
  webex_api_url: url.optional(),
});

// ---- receivers ----

const slackField = z.strictObject({ title: str, value: str, short: z.boolean().optional() });
const slackAction = z
  .strictObject({
    type: str,
    text: str,
    url: str.optional(),
    style: str.optional(),
    name: str.optional(),
    value: str.optional(),
    confirm: z.strictObject({ text: str, title: str.optional(), ok_text: str.optional(), dismiss_text: str.optional() }).optional(),
  })
  .refine((a) => a.url || a.name, { error: 'missing name or url in Slack action configuration' });

export const slackConfigSchema = z
  .strictObject({
    send_resolved: z.boolean().default(false),
    http_config: httpConfig.optional(),
    api_url: secretUrl.optional(),
    api_url_file: str.optional(),
    channel: str.optional(),
    username: str.optional(),
    color: str.optional(),
    title: str.optional(),
    title_link: str.optional(),
    pretext: str.optional(),
    text: str.optional(),
    fields: z.array(slackField).optional(),
    short_fields: z.boolean().default(false),
    footer: str.optional(),
    fallback: str.optional(),
    callback_id: str.optional(),
    icon_emoji: str.optional(),
    icon_url: str.optional(),
    image_url: str.optional(),
    thumb_url: str.optional(),
    link_names: z.boolean().default(false),
    mrkdwn_in: z.array(str).optional(),
    actions: z.array(slackAction).optional(),
    /** Newer Alertmanager (≥ 0.28) key; older amtool rejects it. */
    timeout: goDuration.optional(),
  })
  .refine((c) => !(c.api_url && c.api_url_file), { error: 'at most one of api_url & api_url_file must be configured' });

export const emailConfigSchema = z
  .strictObject({
    send_resolved: z.boolean().default(false),
    to: str.refine((s) => s !== '', { error: 'missing to address in email config' }),
    from: str.optional(),
    hello: str.optional(),
    smarthost: hostPort.optional(),
    auth_username: str.optional(),
    auth_password: secret.optional(),
    auth_password_file: str.optional(),
    auth_secret: secret.optional(),
    auth_identity: str.optional(),
    headers: z.record(z.string(), str).optional(),
    html: str.optional(),
    text: str.optional(),
    require_tls: z.boolean().optional(),
    tls_config: tlsConfig.optional(),
    /** Newer Alertmanager key (≥ 0.29). */
    force_implicit_tls: z.boolean().optional(),
  })
  .superRefine((c, ctx) => {
    if (c.auth_password && c.auth_password_file)
      ctx.addIssue({ code: 'custom', message: 'at most one of auth_password & auth_password_file must be configured' });
    const seen = new Set<string>();
    for (const h of Object.keys(c.headers ?? {})) {
      const canonical = canonicalHeader(h);
      if (seen.has(canonical)) ctx.addIssue({ code: 'custom', message: `duplicate header ${JSON.stringify(canonical)} in email config`, path: ['headers', h] });
      seen.add(canonical);
    }
  });

/** Go textproto.CanonicalMIMEHeaderKey: `content-type` → `Content-Type`. */
export function canonicalHeader(h: string): string {
  if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(h)) return h;
  return h.toLowerCase().replace(/(^|-)([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase());
}

export const webhookConfigSchema = z
  .strictObject({
    send_resolved: z.boolean().default(true),
    http_config: httpConfig.optional(),
    url: secretUrl.optional(),
    /** Alertmanager ≥ 0.26. */
    url_file: str.optional(),
    max_alerts: z.number().int().nonnegative().default(0),
    /** Alertmanager ≥ 0.28. 0 = no timeout. */
    timeout: goDuration.optional(),
  })
  .superRefine((c, ctx) => {
    if (!c.url && !c.url_file) ctx.addIssue({ code: 'custom', message: 'one of url or url_file must be configured' });
    if (c.url && c.url_file) ctx.addIssue({ code: 'custom', message: 'at most one of url & url_file must be configured' });
  });

/** Alertmanager integrations Lantern does not implement: refused with a message, never silently dropped. */
export const UNSUPPORTED_INTEGRATIONS = [
  'discord_configs',
  'pagerduty_configs',
  'opsgenie_configs',
  'wechat_configs',
  'pushover_configs',
  'victorops_configs',
  'sns_configs',
  'telegram_configs',
  'webex_configs',
  'msteams_configs',
  'msteamsv2_configs',
  'jira_configs',
  'rocketchat_configs',
  'mattermost_configs',
  'incidentio_configs',
] as const;

const unsupported = z.unknown().superRefine((v, ctx) => {
  if (v === undefined || (Array.isArray(v) && v.length === 0)) return;
  ctx.addIssue({
    code: 'custom',
    message: 'this Alertmanager integration is not supported by Lantern (supported: slack_configs, email_configs, webhook_configs); send these alerts through a webhook_config instead',
  });
});

export const receiverSchema = z.strictObject({
  name: str.refine((s) => s !== '', { error: 'missing name in receiver' }),
  slack_configs: z.array(slackConfigSchema).optional(),
  email_configs: z.array(emailConfigSchema).optional(),
  webhook_configs: z.array(webhookConfigSchema).optional(),
  ...Object.fromEntries(UNSUPPORTED_INTEGRATIONS.map((k) => [k, unsupported.optional()])),
});

// ---- route tree ----

/** Lantern extension: `escalation: [{after: 15m, receiver: manager}]`. */
const escalationStep = z.strictObject({
  after: promDuration.refine((ms) => ms > 0, { error: 'escalation delay must be above 0' }),
  receiver: str.refine((s) => s !== '', { error: 'missing receiver in escalation step' }),
});

export interface RouteRaw {
  receiver?: string;
  group_by?: string[];
  continue: boolean;
  match?: LabelMatcher[];
  match_re?: LabelMatcher[];
  matchers?: LabelMatcher[];
  mute_time_intervals?: string[];
  active_time_intervals?: string[];
  group_wait?: number;
  group_interval?: number;
  repeat_interval?: number;
  routes?: RouteRaw[];
  escalation?: Array<{ after: number; receiver: string }>;
}

export const routeSchema: z.ZodType<RouteRaw, unknown> = z.lazy(() =>
  z
    .strictObject({
      receiver: str.optional(),
      group_by: z.array(str).optional(),
      continue: z.boolean().default(false),
      match: matchMap('=').optional(),
      match_re: matchMap('=~').optional(),
      matchers: matcherList.optional(),
      mute_time_intervals: z.array(str).optional(),
      active_time_intervals: z.array(str).optional(),
      group_wait: promDuration.optional(),
      group_interval: promDuration.optional(),
      repeat_interval: promDuration.optional(),
      routes: z.array(routeSchema).optional(),
      escalation: z.array(escalationStep).optional(),
    })
    .superRefine((r, ctx) => {
      const names = new Set<string>();
      const all = (r.group_by ?? []).includes('...');
      (r.group_by ?? []).forEach((l, i) => {
        if (l === '...') return;
        if (!LABEL_NAME.test(l)) ctx.addIssue({ code: 'custom', message: `invalid label name ${JSON.stringify(l)} in group_by list`, path: ['group_by', i] });
        else if (names.has(l)) ctx.addIssue({ code: 'custom', message: `duplicated label ${JSON.stringify(l)} in group_by`, path: ['group_by', i] });
        names.add(l);
      });
      if (all && names.size > 0)
        ctx.addIssue({ code: 'custom', message: 'cannot have wildcard group_by (`...`) and other labels at the same time', path: ['group_by'] });
      if (r.group_interval === 0) ctx.addIssue({ code: 'custom', message: 'group_interval cannot be zero', path: ['group_interval'] });
      if (r.repeat_interval === 0) ctx.addIssue({ code: 'custom', message: 'repeat_interval cannot be zero', path: ['repeat_interval'] });
      const steps = r.escalation ?? [];
      for (let i = 1; i < steps.length; i++)
        if (steps[i]!.after <= steps[i - 1]!.after)
          ctx.addIssue({ code: 'custom', message: 'escalation steps must have increasing `after` delays', path: ['escalation', i, 'after'] });
    }),
);

// ---- inhibit rules ----

export const inhibitRuleSchema = z.strictObject({
  source_match: matchMap('=').optional(),
  source_match_re: matchMap('=~').optional(),
  source_matchers: matcherList.optional(),
  target_match: matchMap('=').optional(),
  target_match_re: matchMap('=~').optional(),
  target_matchers: matcherList.optional(),
  equal: z.array(labelName).optional(),
});

// ---- time intervals (timeinterval.go) ----

export interface Range {
  begin: number;
  end: number;
}
export interface TimeRangeSpec {
  startMinute: number;
  endMinute: number;
}
export interface TimeIntervalSpec {
  times?: TimeRangeSpec[];
  weekdays?: Range[];
  daysOfMonth?: Range[];
  months?: Range[];
  years?: Range[];
  /** IANA zone name; absent = UTC (Alertmanager's default). */
  location?: string;
}

const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

function parseRange(input: string, member: (s: string) => number): Range {
  const s = input.toLowerCase();
  if (s.includes(':')) {
    const parts = s.split(':');
    if (parts.length !== 2) throw new Error(`couldn't parse range ${input}, invalid format`);
    return { begin: member(parts[0]!), end: member(parts[1]!) };
  }
  const v = member(s);
  return { begin: v, end: v };
}

const atoi = (s: string): number => {
  if (!/^[+-]?\d+$/.test(s)) throw new Error(`strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax`);
  return Number(s);
};

const rangeOf = (parse: (s: string) => Range) =>
  str.transform((s, ctx) => {
    try {
      return parse(s);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });

const weekdayRange = rangeOf((s) => {
  const r = parseRange(s, (d) => {
    const i = WEEKDAYS.indexOf(d);
    if (i < 0) throw new Error(`${d} is not a valid weekday`);
    return i;
  });
  if (r.begin > r.end) throw new Error('start day cannot be before end day');
  return r;
});

const dayOfMonthRange = rangeOf((s) => {
  const r = parseRange(s, atoi);
  for (const v of [r.begin, r.end]) if (v === 0 || v < -31 || v > 31) throw new Error(`${v} is not a valid day of the month: out of range`);
  if (r.begin < 0 && r.end > 0) throw new Error('end day must be negative if start day is negative');
  const b = r.begin < 0 ? 28 + r.begin : r.begin;
  const e = r.end < 0 ? 28 + r.end : r.end;
  if (b > e) throw new Error(`end day ${r.end} is always before start day ${r.begin}`);
  return r;
});

const monthRange = rangeOf((s) => {
  const r = parseRange(s, (m) => {
    const i = MONTHS.indexOf(m);
    if (i >= 0) return i + 1;
    const n = Number(m);
    if (!/^[+-]?\d+$/.test(m)) throw new Error(`${m} is not a valid month`);
    if (n < 1 || n > 12) throw new Error(`${m} is not a valid month: out of range`);
    return n;
  });
  if (r.begin > r.end) throw new Error(`end month ${MONTHS[r.end - 1]} is before start month ${MONTHS[r.begin - 1]}`);
  return r;
});

const yearRange = rangeOf((s) => {
  const r = parseRange(s, atoi);
  if (r.begin > r.end) throw new Error(`end year ${r.end} is before start year ${r.begin}`);
  return r;
});

const TIME_RE = /^((([01][0-9])|(2[0-3])):[0-5][0-9])$|(^24:00$)/;
function parseClock(s: string): number {
  if (!TIME_RE.test(s)) throw new Error(`couldn't parse timestamp ${s}, invalid format`);
  const [h, m] = s.split(':').map(Number) as [number, number];
  return h * 60 + m;
}

const timeRange = z.strictObject({ start_time: str.optional(), end_time: str.optional() }).transform((t, ctx) => {
  if (!t.start_time || !t.end_time) {
    ctx.addIssue({ code: 'custom', message: 'both start and end times must be provided' });
    return z.NEVER;
  }
  try {
    const startMinute = parseClock(t.start_time);
    const endMinute = parseClock(t.end_time);
    if (startMinute >= endMinute) throw new Error('start time cannot be equal or greater than end time');
    return { startMinute, endMinute };
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});

/** Go's time.LoadLocation: "UTC", "Local" or an IANA name (checked against this runtime's ICU zone data). */
export function checkLocation(name: string): void {
  if (name === '' || name === 'UTC' || name === 'Local') return;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
  } catch {
    throw new Error(`unknown time zone ${name}`);
  }
}

const location = str.refine(
  (s) => {
    try {
      checkLocation(s);
      return true;
    } catch {
      return false;
    }
  },
  { error: (iss) => `unknown time zone ${String(iss.input)}` },
);

const timeIntervalSpec = z
  .strictObject({
    times: z.array(timeRange).optional(),
    weekdays: z.array(weekdayRange).optional(),
    days_of_month: z.array(dayOfMonthRange).optional(),
    months: z.array(monthRange).optional(),
    years: z.array(yearRange).optional(),
    location: location.optional(),
  })
  .transform(
    (t): TimeIntervalSpec => ({
      times: t.times,
      weekdays: t.weekdays,
      daysOfMonth: t.days_of_month,
      months: t.months,
      years: t.years,
      location: t.location === '' ? undefined : t.location,
    }),
  );

const namedTimeInterval = (what: string) =>
  z.strictObject({
    name: str.optional().refine((s) => !!s, { error: `missing name in ${what}` }),
    time_intervals: z.array(timeIntervalSpec).default([]),
  });

// ---- the file ----

export const alertmanagerConfigSchema = z.strictObject({
  global: globalSchema.optional(),
  route: routeSchema.optional(),
  inhibit_rules: z.array(inhibitRuleSchema).optional(),
  receivers: z.array(receiverSchema).optional(),
  /** Go templates for Alertmanager's notifiers: accepted and ignored (Lantern's messages are built in code). */
  templates: z.array(str).optional(),
  mute_time_intervals: z.array(namedTimeInterval('mute time interval')).optional(),
  time_intervals: z.array(namedTimeInterval('time interval')).optional(),
  /** Alertmanager ≥ 0.28 tracing block: accepted, ignored. */
  tracing: z.record(z.string(), z.unknown()).optional(),
});

export type AlertmanagerConfigRaw = z.infer<typeof alertmanagerConfigSchema>;
export type ReceiverRaw = z.infer<typeof receiverSchema>;
export type SlackConfigRaw = z.infer<typeof slackConfigSchema>;
export type EmailConfigRaw = z.infer<typeof emailConfigSchema>;
export type WebhookConfigRaw = z.infer<typeof webhookConfigSchema>;
export type InhibitRuleRaw = z.infer<typeof inhibitRuleSchema>;
export type GlobalRaw = z.infer<typeof globalSchema>;
