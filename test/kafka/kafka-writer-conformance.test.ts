/**
 * The real writer through the conformance suite, against the broker, read back with kcat: the
 * idempotent writer (its writes settled by counting each partition's acknowledgements) and one
 * with acks=1 (not idempotent: its writes settled by flushes).
 */
import { createKafkaWriter, createTopic } from '../../src/kafka/kafka-client.ts';
import { parseKafkaProperties } from '../../src/kafka/kafka-properties.ts';
import { bootstrapServers, kcatRead, randomTopic } from '../helpers/kafka.ts';
import { recordWriterConformance } from './record-writer-conformance.ts';

for (const [name, properties] of [
  ['librdkafka writer', {}],
  ['librdkafka writer, acks=1', { acks: 1 }],
] as const) {
  recordWriterConformance(name, async (partitions) => {
    const topic = randomTopic('conformance');
    await createTopic([bootstrapServers()], topic, { partitions });
    const writer = createKafkaWriter(parseKafkaProperties({ 'bootstrap.servers': bootstrapServers(), ...properties }, { sink: 'conformance' }).settings);
    return {
      writer,
      topic,
      read: async () =>
        (await kcatRead(topic)).map((r) => ({ partition: r.partition, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null })),
    };
  });
}
