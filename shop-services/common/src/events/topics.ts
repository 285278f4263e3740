import type { Kafka } from 'kafkajs';

export const dlqTopic = (topic: string): string => `${topic}.dlq`;

export type TopicSpec = string | { topic: string; partitions?: number; replicationFactor?: number };

/**
 * Creates missing topics (the broker's auto-create is off), each with its `<topic>.dlq` unless
 * withDlq is false. Existing topics are left as they are.
 */
export async function ensureTopics(kafka: Kafka, topics: readonly TopicSpec[], opts: { withDlq?: boolean; partitions?: number } = {}): Promise<void> {
  const specs = topics.map((t) => (typeof t === 'string' ? { topic: t } : t));
  const all = specs.flatMap((s) => (opts.withDlq === false || s.topic.endsWith('.dlq') ? [s] : [s, { ...s, topic: dlqTopic(s.topic) }]));
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = all.filter((s) => !existing.has(s.topic));
    if (missing.length === 0) return;
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((s) => ({ topic: s.topic, numPartitions: s.partitions ?? opts.partitions ?? 3, replicationFactor: s.replicationFactor ?? 1 })),
    });
  } finally {
    await admin.disconnect();
  }
}
