import { Kafka, logLevel } from 'kafkajs';
import { infra } from './env.js';
import { uniqueName } from './names.js';

/** The broker has auto topic creation off, so tests create their topics explicitly. */
export async function createTopics(names: string[], partitions = 1): Promise<void> {
  const kafka = new Kafka({ clientId: 'lantern-testkit', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: names.map((topic) => ({ topic, numPartitions: partitions })) });
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
