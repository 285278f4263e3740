// Plain kafkajs clients for tests around the kafka receiver and exporter: write raw messages (garbage
// included), read a topic back as it is on the broker, and wait until a consumer group is balanced.
import { AssignerProtocol, Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { uniqueName, waitFor } from '@lantern/testkit';

export const BROKER = '127.0.0.1:9092';
const kafka = new Kafka({ clientId: 'collector-test', brokers: [BROKER], logLevel: logLevel.NOTHING });

/** Writes messages to a topic as they are (no encoding applied). */
export async function produceRaw(topic: string, messages: { key?: string; value: Buffer | Uint8Array; headers?: Record<string, string> }[]): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: messages.map((m) => ({ key: m.key ?? null, value: Buffer.from(m.value), headers: m.headers ?? {} })) });
  } finally {
    await producer.disconnect();
  }
}

export interface RawMessage {
  partition: number;
  message: KafkaMessage;
}

/** Reads a topic from the beginning with a throw-away group until `count` messages were read. */
export async function readTopic(topic: string, count: number): Promise<RawMessage[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('collector-test-reader'), allowAutoTopicCreation: false });
  const out: RawMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ partition, message }) => void out.push({ partition, message }) });
    await waitFor(() => out.length >= count, { what: `${count} messages in ${topic} (have ${out.length})`, timeoutMs: 60_000 });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

/** Resolves once the group is stable with `members` members that each hold at least one partition. */
export async function waitForBalancedGroup(groupId: string, members: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await waitFor(
      async () => {
        const { groups } = await admin.describeGroups([groupId]);
        const g = groups[0];
        if (!g || g.state !== 'Stable' || g.members.length !== members) return false;
        return g.members.every((m) => {
          const a = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
          return a !== null && Object.values(a.assignment).some((partitions) => partitions.length > 0);
        });
      },
      { what: `group ${groupId} balanced over ${members} members`, timeoutMs: 60_000, intervalMs: 250 },
    );
  } finally {
    await admin.disconnect();
  }
}
