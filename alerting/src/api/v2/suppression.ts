// An alert's status at query time, as Alertmanager ≥ 0.28 predicts it (predictAlertStatus): silenced by the
// active silences matching its labels (notify/silence-match.ts, the rule the notify pipeline applies),
// inhibited/muted as the dispatcher found at the last flush; suppressed if any.
import type { Alert, AlertStatus } from '../../model/alert.js';
import type { Silence } from '../../model/silence.js';
import { silencedBy } from '../../notify/silence-match.js';
import type { DispatcherView } from '../deps.js';

export async function alertStatus(a: Alert, silences: readonly Silence[], now: Date, dispatcher: DispatcherView | undefined): Promise<AlertStatus> {
  const silenced = silencedBy(a.labels, silences, now);
  const other = (await dispatcher?.status?.(a)) ?? {};
  const inhibitedBy = [...(other.inhibitedBy ?? [])];
  const mutedBy = [...(other.mutedBy ?? [])];
  const suppressed = silenced.length + inhibitedBy.length + mutedBy.length > 0;
  return { state: suppressed ? 'suppressed' : 'active', silencedBy: silenced, inhibitedBy, mutedBy };
}
