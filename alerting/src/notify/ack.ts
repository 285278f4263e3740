// Acknowledgement check (Lantern extension): an acknowledged group sends no repeats. A firing alert the
// integration was not told about when the group was acknowledged ends the acknowledgement.
import type { AckStore, Acknowledgement, NotificationLogEntry } from '../model/stores.js';
import type { SendReason } from './dedup.js';

export interface AckDecision {
  /** The acknowledgement still in force after this check. */
  ack: Acknowledgement | undefined;
  /** Whether to hold back a notification dedup wants to send for `reason`. */
  holdBack: boolean;
}

export async function checkAck(opts: {
  acks: AckStore;
  groupKey: string;
  /** The group's acknowledgement, read by the caller (alongside the nflog entry). */
  ack: Acknowledgement | undefined;
  entry: NotificationLogEntry | undefined;
  firing: ReadonlySet<string>;
  reason: SendReason | undefined;
}): Promise<AckDecision> {
  const { ack } = opts;
  if (!ack) return { ack: undefined, holdBack: false };
  const told = new Set(opts.entry?.firing ?? []);
  const newFiring = [...opts.firing].some((fp) => !told.has(fp));
  if (newFiring) {
    await opts.acks.clear(opts.groupKey);
    return { ack: undefined, holdBack: false };
  }
  return { ack, holdBack: opts.reason === 'repeat' };
}
