import type { LabelSet } from './labels.js';

/** One label matcher, in the v2 API's shape: `isEqual: false` negates (`!=`, `!~`). */
export interface Matcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

export interface PostableSilence {
  /** Set to update an existing silence (unknown id → NotFoundError, the API answers 404). */
  id?: string;
  matchers: Matcher[];
  startsAt: Date;
  endsAt: Date;
  createdBy: string;
  comment: string;
  annotations?: LabelSet;
}

export interface Silence extends Required<Omit<PostableSilence, 'annotations'>> {
  annotations: LabelSet;
  updatedAt: Date;
}

export type SilenceState = 'expired' | 'active' | 'pending';

export function silenceState(s: Pick<Silence, 'startsAt' | 'endsAt'>, now: Date): SilenceState {
  if (s.endsAt.getTime() <= now.getTime()) return 'expired';
  if (s.startsAt.getTime() > now.getTime()) return 'pending';
  return 'active';
}
