/** The real writer through the conformance suite, against the broker, read back with kcat. */
import { createKafkaWriter, createTopic } from '../../src/kafka/kafka-client.ts';
import { parseKafkaProperties } from '../../src/kafka/kafka-properties.ts';
import { bootstrapServers, kcatRead, randomTopic } from '../helpers/kafka.ts';
import { recordWriterConformance } from './record-writer-conformance.ts';

recordWriterConformance('librdkafka writer', async (partitions) => {
  const topic = randomTopic('conformance');
  await createTopic([bootstrapServers()], topic, { partitions });
  const writer = createKafkaWriter(parseKafkaProperties({ 'bootstrap.servers': bootstrapServers() }, { sink: 'conformance' }).settings);
  return {
    writer,
    topic,
    read: async () =>
      (await kcatRead(topic)).map((r) => ({ partition: r.partition, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null })),
  };
});
