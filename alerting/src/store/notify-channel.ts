// Change announcements between replicas through Postgres LISTEN/NOTIFY. One dedicated connection listens;
// payloads carry the sending instance's id so an instance ignores its own echo (it told its listeners already).
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Logger } from 'pino';

/** NOTIFY payloads are limited to 8000 bytes; above this many fingerprints the receiver reloads everything. */
export const MAX_FINGERPRINTS_PER_NOTICE = 300;

export interface AlertNotice {
  origin: string;
  /** Fingerprints that changed; empty means "reload all". */
  fingerprints: string[];
}

/** A channel name per schema (channels are database-wide), short enough for NAMEDATALEN. */
export function channelFor(schema: string): string {
  return `lantern_alerts_${createHash('sha256').update(schema).digest('hex').slice(0, 16)}`;
}

export function noticePayload(origin: string, fingerprints: string[]): string {
  const notice: AlertNotice = { origin, fingerprints: fingerprints.length > MAX_FINGERPRINTS_PER_NOTICE ? [] : fingerprints };
  return JSON.stringify(notice);
}

function parseNotice(payload: string | undefined): AlertNotice | undefined {
  if (!payload) return undefined;
  try {
    const v: unknown = JSON.parse(payload);
    if (typeof v !== 'object' || v === null) return undefined;
    const o = v as Record<string, unknown>;
    if (typeof o.origin !== 'string' || !Array.isArray(o.fingerprints)) return undefined;
    return { origin: o.origin, fingerprints: o.fingerprints.filter((f): f is string => typeof f === 'string') };
  } catch {
    return undefined;
  }
}

export interface ChannelListener {
  close(): Promise<void>;
}

/**
 * Listens on `channel` and calls `onNotice` for notices from other origins. Reconnects after a lost
 * connection (calling onNotice with a reload-all notice, since notices sent meanwhile are lost).
 */
export async function listenChannel(opts: {
  databaseUrl: string;
  channel: string;
  origin: string;
  logger: Logger;
  onNotice: (n: AlertNotice) => void;
}): Promise<ChannelListener> {
  let closed = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: opts.databaseUrl });
    c.on('notification', (msg) => {
      const n = parseNotice(msg.payload);
      if (n && n.origin !== opts.origin) opts.onNotice(n);
    });
    c.on('error', (err) => {
      opts.logger.warn({ err: err.message }, 'alert notice listener lost its connection; reconnecting');
      void c.end().catch(() => undefined);
      scheduleReconnect();
    });
    await c.connect();
    await c.query(`LISTEN "${opts.channel}"`);
    client = c;
  };
  const scheduleReconnect = (): void => {
    client = undefined;
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      if (closed) return;
      connect().then(
        () => opts.onNotice({ origin: '', fingerprints: [] }),
        (err: Error) => {
          opts.logger.warn({ err: err.message }, 'alert notice listener reconnect failed');
          scheduleReconnect();
        },
      );
    }, 1000);
    retry.unref();
  };

  await connect();
  return {
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      const c = client;
      client = undefined;
      if (c) await c.end().catch(() => undefined);
    },
  };
}
