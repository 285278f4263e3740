import { Kafka, logLevel } from 'kafkajs';
import { infra } from './env.js';
import { uniqueName } from './names.js';
import { waitFor } from './wait.js';

/**
 * The broker has auto topic creation off, so tests create their topics explicitly. Resolves once every
 * partition has a leader in the metadata clients read: kafkajs's own `waitForLeaders` throws
 * UNKNOWN_TOPIC_OR_PARTITION when the broker is slow to publish a new topic (seen on a loaded machine).
 */
export async function createTopics(names: string[], partitions = 1): Promise<void> {
  const kafka = new Kafka({ clientId: 'lantern-testkit', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: false, topics: names.map((topic) => ({ topic, numPartitions: partitions })) });
    await waitFor(
      async () => {
        try {
          const { topics } = await admin.fetchTopicMetadata({ topics: names });
          return topics.length === names.length && topics.every((t) => t.partitions.length === partitions && t.partitions.every((p) => p.leader >= 0));
        } catch {
          return false; // not published yet
        }
      },
      { what: `leaders for topics ${names.join(', ')}`, timeoutMs: 60_000, intervalMs: 100 },
    );
  } finally {
    await admin.disconnect();
  }
}

/** A new topic with a run-unique name. */
export async function freshTopic(prefix: string, partitions = 1): Promise<string> {
  const topic = uniqueName(prefix).replace(/_/g, '-');
  await createTopics([topic], partitions);
  return topic;
}
