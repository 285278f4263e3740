// Stored objects → the exact JSON shapes of Alertmanager's api/v2/openapi.yaml (every required field present;
// dates as RFC 3339 with milliseconds, like go-openapi's strfmt.DateTime).
import type { Alert, AlertStatus } from '../../model/alert.js';
import type { LabelSet } from '../../model/labels.js';
import { silenceState, type Silence, type SilenceState } from '../../model/silence.js';

export interface GettableAlert {
  labels: LabelSet;
  annotations: LabelSet;
  receivers: { name: string }[];
  fingerprint: string;
  startsAt: string;
  updatedAt: string;
  endsAt: string;
  generatorURL: string;
  status: AlertStatus;
}

export interface GettableSilence {
  id: string;
  status: { state: SilenceState };
  updatedAt: string;
  matchers: { name: string; value: string; isRegex: boolean; isEqual: boolean }[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  annotations: LabelSet;
}

export function gettableAlert(a: Alert, status: AlertStatus, receivers: string[]): GettableAlert {
  return {
    labels: a.labels,
    annotations: a.annotations,
    receivers: receivers.map((name) => ({ name })),
    fingerprint: a.fingerprint,
    startsAt: a.startsAt.toISOString(),
    updatedAt: a.updatedAt.toISOString(),
    endsAt: a.endsAt.toISOString(),
    generatorURL: a.generatorURL,
    status,
  };
}

export function gettableSilence(s: Silence, now: Date): GettableSilence {
  return {
    id: s.id,
    status: { state: silenceState(s, now) },
    updatedAt: s.updatedAt.toISOString(),
    matchers: s.matchers.map((m) => ({ name: m.name, value: m.value, isRegex: m.isRegex, isEqual: m.isEqual })),
    startsAt: s.startsAt.toISOString(),
    endsAt: s.endsAt.toISOString(),
    createdBy: s.createdBy,
    comment: s.comment,
    annotations: s.annotations ?? {},
  };
}

const STATE_ORDER: Record<SilenceState, number> = { active: 1, pending: 2, expired: 3 };

/** Alertmanager's SortSilences: active (next to end first), pending (next to start first), expired (latest first). */
export function sortSilences(list: GettableSilence[]): GettableSilence[] {
  const t = (s: string) => Date.parse(s);
  return list.sort((a, b) => {
    if (a.status.state !== b.status.state) return STATE_ORDER[a.status.state] - STATE_ORDER[b.status.state];
    switch (a.status.state) {
      case 'active':
        return t(a.endsAt) - t(b.endsAt);
      case 'pending':
        return t(a.startsAt) - t(b.startsAt);
      case 'expired':
        return t(b.endsAt) - t(a.endsAt);
    }
  });
}
