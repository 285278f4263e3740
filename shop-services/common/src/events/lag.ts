import type { Admin } from 'kafkajs';
import { getOrCreateGauge } from '@lantern/sdk';
import { dlqTopic } from './topics.js';

/** Consumer group whose committed offsets mark how far each DLQ topic has been replayed (dlqAdminRoutes). */
export const DLQ_REPLAY_GROUP = 'lantern-dlq-replay';

export interface PartitionLag {
  topic: string;
  partition: number;
  /** Next offset the broker will write (high watermark). */
  high: string;
  /** The group's committed offset, or '-1' if it has none. */
  committed: string;
  lag: number;
}

export interface DlqDepth {
  /** The DLQ topic, e.g. `orders.dlq`. */
  topic: string;
  /** Messages not yet replayed (after the replay cursor, or all retained ones if never replayed). */
  depth: number;
  /** Messages retained in the topic. */
  total: number;
  partitions: { partition: number; low: string; high: string; replayedUpTo: string; depth: number }[];
}

export function consumerLagGauge() {
  return getOrCreateGauge<'group' | 'topic' | 'partition'>({
    name: 'kafka_consumer_lag',
    help: "Messages a consumer group has not committed yet: the partition's high watermark minus the group's committed offset",
    labelNames: ['group', 'topic', 'partition'],
  });
}

export function dlqDepthGauge() {
  return getOrCreateGauge<'topic'>({
    name: 'kafka_dlq_depth',
    help: 'Dead-lettered messages not yet replayed, per DLQ topic',
    labelNames: ['topic'],
  });
}

const big = (s: string | undefined): bigint => {
  try {
    return BigInt(s ?? '-1');
  } catch {
    return -1n;
  }
};

/** Committed offsets of a group per topic-partition ('-1' where it has none). */
async function committedOffsets(admin: Admin, groupId: string, topics: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const res = await admin.fetchOffsets({ groupId, topics });
  for (const t of res) for (const p of t.partitions) out.set(`${t.topic}/${p.partition}`, p.offset);
  return out;
}

/**
 * Lag per partition = high watermark − committed offset. A group with no commit yet has consumed
 * nothing it would keep: its lag is what it will read (the retained messages when it starts from the
 * beginning, none when it starts from the end).
 */
export async function fetchGroupLag(admin: Admin, groupId: string, topics: string[], fromBeginning: boolean): Promise<PartitionLag[]> {
  const committed = await committedOffsets(admin, groupId, topics);
  const out: PartitionLag[] = [];
  for (const topic of topics) {
    for (const p of await admin.fetchTopicOffsets(topic)) {
      const c = committed.get(`${topic}/${p.partition}`) ?? '-1';
      const high = big(p.high);
      const base = big(c) >= 0n ? big(c) : fromBeginning ? big(p.low) : high;
      const lag = high > base ? Number(high - base) : 0;
      out.push({ topic, partition: p.partition, high: p.high, committed: c, lag });
    }
  }
  return out;
}

/** Depth of `<topic>.dlq` measured against the replay cursor (DLQ_REPLAY_GROUP). */
export async function fetchDlqDepth(admin: Admin, topic: string): Promise<DlqDepth> {
  const dlq = topic.endsWith('.dlq') ? topic : dlqTopic(topic);
  // one after the other: if the topic is missing the first throws, and a request still in flight
  // when the caller disconnects the admin would reopen its connection (a leaked socket)
  const offsets = await admin.fetchTopicOffsets(dlq);
  const cursor = await committedOffsets(admin, DLQ_REPLAY_GROUP, [dlq]);
  const partitions = offsets.map((p) => {
    const low = big(p.low);
    const high = big(p.high);
    const c = big(cursor.get(`${dlq}/${p.partition}`));
    const from = c > low ? c : low;
    return { partition: p.partition, low: p.low, high: p.high, replayedUpTo: (from > low ? from : low).toString(), depth: high > from ? Number(high - from) : 0 };
  });
  const total = offsets.reduce((n, p) => n + Math.max(0, Number(big(p.high) - big(p.low))), 0);
  const depth = partitions.reduce((n, p) => n + p.depth, 0);
  dlqDepthGauge().set({ topic: dlq }, depth);
  return { topic: dlq, depth, total, partitions };
}
