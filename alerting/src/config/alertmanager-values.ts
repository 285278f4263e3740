// Value types of the Alertmanager config, parsed as Alertmanager's Go types parse them: Prometheus durations
// (model.Duration), Go durations (time.Duration), host:port, URLs, and secrets that never print.
import { inspect } from 'node:util';

/** A secret config value (webhook URL, SMTP password). Prints as `<secret>` in logs, JSON and inspect. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  /** The real value, for the integration that sends with it. Never log the result. */
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return SECRET_TOKEN;
  }
  toJSON(): string {
    return SECRET_TOKEN;
  }
  [inspect.custom](): string {
    return SECRET_TOKEN;
  }
}

/** What Alertmanager shows instead of a secret (config.original in /api/v2/status). */
export const SECRET_TOKEN = '<secret>';

const PROM_DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const PROM_UNITS_MS = [365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1];

/** Prometheus model.ParseDuration (`1h30m`, `5m`, `0`; units y w d h m s ms, in that order). Milliseconds. */
export function parsePromDuration(s: string): number {
  if (s === '') throw new Error('empty duration string');
  if (s === '0') return 0;
  const m = PROM_DURATION.exec(s);
  if (!m || m.slice(1).every((g) => g === undefined)) throw new Error(`not a valid duration string: ${JSON.stringify(s)}`);
  let ms = 0;
  m.slice(1).forEach((g, i) => {
    if (g !== undefined) ms += Number(g) * PROM_UNITS_MS[i]!;
  });
  if (!Number.isSafeInteger(ms)) throw new Error(`duration out of range: ${JSON.stringify(s)}`);
  return ms;
}

/** Formats milliseconds as Prometheus does (`4h`, `1m30s`). */
export function formatPromDuration(ms: number): string {
  if (ms === 0) return '0s';
  const names = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];
  let rest = ms;
  let out = '';
  PROM_UNITS_MS.forEach((u, i) => {
    // Prometheus prints weeks only when the whole duration is weeks.
    if (names[i] === 'w' && rest % u !== 0) return;
    const n = Math.floor(rest / u);
    if (n > 0) {
      out += `${n}${names[i]}`;
      rest -= n * u;
    }
  });
  return out;
}

const GO_UNITS_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go time.ParseDuration (`10s`, `1.5h`, `300ms`, `1h30m`). Milliseconds. */
export function parseGoDuration(s: string): number {
  const m = /^([-+]?)((?:\d*\.?\d+(?:ns|us|µs|μs|ms|s|m|h))+|0)$/.exec(s);
  if (!m) throw new Error(`invalid duration ${JSON.stringify(s)}`);
  if (m[2] === '0') return 0;
  let ms = 0;
  for (const part of m[2]!.matchAll(/(\d*\.?\d+)(ns|us|µs|μs|ms|s|m|h)/g)) ms += Number(part[1]) * GO_UNITS_MS[part[2]!]!;
  return m[1] === '-' ? -ms : ms;
}

export interface HostPort {
  host: string;
  port: string;
}

/** Go net.SplitHostPort with Alertmanager's "port cannot be empty". */
export function parseHostPort(s: string): HostPort {
  const m = /^\[([^\]]*)\]:([^:]*)$/.exec(s) ?? /^([^:[\]]*):([^:[\]]*)$/.exec(s);
  if (!m) throw new Error(`address ${s}: ${s.includes(':') ? 'too many colons in address' : 'missing port in address'}`);
  if (m[2] === '') throw new Error(`address ${JSON.stringify(s)}: port cannot be empty`);
  return { host: m[1]!, port: m[2]! };
}

/** Alertmanager's URL check: http or https with a host. */
export function checkUrl(s: string): void {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new Error(`invalid URL ${JSON.stringify(redactUrl(s))}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`unsupported scheme ${JSON.stringify(u.protocol.replace(/:$/, ''))} for URL`);
  if (!u.host) throw new Error('missing host for URL');
}

/** A URL for messages: scheme and host only (paths of webhook URLs carry their tokens). */
export function redactUrl(s: string): string {
  try {
    const u = new URL(s);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return SECRET_TOKEN;
  }
}
