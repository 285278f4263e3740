// An alert's status at query time, as Alertmanager ≥ 0.28 predicts it (predictAlertStatus): silenced by the
// active silences matching its labels, inhibited/muted as the dispatcher reports; suppressed if any.
import type { Alert, AlertStatus } from '../../model/alert.js';
import { fromApiMatcher, matches, type LabelMatcher } from '../../model/matchers.js';
import { silenceState, type Silence } from '../../model/silence.js';
import type { DispatcherView } from '../deps.js';

export interface ActiveSilence {
  id: string;
  matchers: LabelMatcher[];
}

/** Active silences with compiled matchers; a stored silence whose regex no longer compiles is skipped. */
export function activeSilences(all: Silence[], now: Date): ActiveSilence[] {
  const out: ActiveSilence[] = [];
  for (const s of all) {
    if (silenceState(s, now) !== 'active') continue;
    try {
      out.push({ id: s.id, matchers: s.matchers.map((m) => fromApiMatcher(m)) });
    } catch {
      // validated on the way in; an unreadable one silences nothing rather than failing the listing
    }
  }
  return out;
}

export async function alertStatus(a: Alert, silences: ActiveSilence[], dispatcher: DispatcherView | undefined): Promise<AlertStatus> {
  const silencedBy = silences.filter((s) => matches(s.matchers, a.labels)).map((s) => s.id).sort();
  const other = (await dispatcher?.status?.(a)) ?? {};
  const inhibitedBy = [...(other.inhibitedBy ?? [])];
  const mutedBy = [...(other.mutedBy ?? [])];
  const suppressed = silencedBy.length + inhibitedBy.length + mutedBy.length > 0;
  return { state: suppressed ? 'suppressed' : 'active', silencedBy, inhibitedBy, mutedBy };
}
