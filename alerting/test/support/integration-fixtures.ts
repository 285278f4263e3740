// Fixtures for the integration tests: a notification context as the notify pipeline builds it, an HTTP
// receiver on loopback that records what it got, and a clock the test moves by hand.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Alert } from '../../src/model/alert.js';
import type { Clock } from '../../src/model/clock.js';
import { fingerprint, type LabelSet } from '../../src/model/labels.js';
import type { Evidence, NotificationContext } from '../../src/model/notification.js';

export function alert(labels: LabelSet, annotations: LabelSet = {}, opts: { startsAt?: Date; endsAt?: Date; generatorURL?: string } = {}): Alert {
  const startsAt = opts.startsAt ?? new Date(Date.now() - 120_000);
  return {
    fingerprint: fingerprint(labels),
    labels,
    annotations,
    startsAt,
    endsAt: opts.endsAt ?? new Date(Date.now() + 300_000),
    timeout: false,
    generatorURL: opts.generatorURL ?? 'http://prometheus.example:9090/graph?g0.expr=up&g0.tab=1',
    updatedAt: startsAt,
  };
}

export const noEvidence = (): Evidence => ({ traces: [], logs: [], notes: [] });

export function context(alerts: Alert[], over: Partial<NotificationContext> = {}): NotificationContext {
  const common: LabelSet = {};
  const first = alerts[0]?.labels ?? {};
  for (const [k, v] of Object.entries(first)) if (alerts.every((a) => a.labels[k] === v)) common[k] = v;
  const commonAnn: LabelSet = {};
  for (const [k, v] of Object.entries(alerts[0]?.annotations ?? {})) if (alerts.every((a) => a.annotations[k] === v)) commonAnn[k] = v;
  const firing = alerts.some((a) => a.endsAt.getTime() > Date.now());
  return {
    receiver: 'oncall',
    groupKey: '{}/{severity="critical"}:{alertname="HighLatency", service="checkout"}',
    groupLabels: { alertname: common.alertname ?? 'HighLatency', ...(common.service ? { service: common.service } : {}) },
    commonLabels: common,
    commonAnnotations: commonAnn,
    status: firing ? 'firing' : 'resolved',
    alerts,
    externalURL: 'https://alerts.example.com',
    links: {
      group: 'https://alerts.example.com/#/groups/abc',
      silence: 'https://alerts.example.com/#/silences/new?filter=%7Balertname%3D%22HighLatency%22%7D',
      ack: 'https://alerts.example.com/ack/abc?exp=1&sig=00',
    },
    evidence: noEvidence(),
    escalationLevel: 0,
    ...over,
  };
}

export interface Received {
  at: number;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** An HTTP receiver on 127.0.0.1:0 that records every request; `answer` decides each reply (default 200 "ok"). */
export async function receiver(answer?: (req: Received, n: number, res: ServerResponse) => void): Promise<{ url: string; got: Received[]; close: () => Promise<void> }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = { at: Date.now(), path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      got.push(r);
      if (answer) answer(r, got.length, res);
      else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    got,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A Clock whose time moves only when the test calls advance(). */
export class ManualClock implements Clock {
  private t: number;
  private timers: { at: number; fn: () => void; done: boolean }[] = [];
  constructor(start = Date.now()) {
    this.t = start;
  }
  now(): Date {
    return new Date(this.t);
  }
  setTimeout(fn: () => void, ms: number): { clear(): void } {
    const timer = { at: this.t + ms, fn, done: false };
    this.timers.push(timer);
    return { clear: () => void (timer.done = true) };
  }
  get pending(): number {
    return this.timers.filter((x) => !x.done).length;
  }
  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    this.t += ms;
    for (;;) {
      const due = this.timers.filter((x) => !x.done && x.at <= this.t).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      due.done = true;
      due.fn();
    }
  }
}
