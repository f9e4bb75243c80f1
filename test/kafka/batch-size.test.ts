/**
 * `batch.size` has its documented effect (with the previous client it had none): librdkafka
 * closes a record batch at batch.size bytes, so the same records written with a tiny batch.size
 * take one batch each, and the log grows by a batch header (61 bytes) per record. The sizes come
 * from the broker itself (DescribeLogDirs, through Kafka's own LogDirsCommand).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';
import { ensureKafkaJars } from '../../src/broker/embedded-broker.ts';
import { createKafkaWriter, createTopic } from '../../src/kafka/kafka-client.ts';
import { parseKafkaProperties } from '../../src/kafka/kafka-properties.ts';
import { bootstrapServers, randomTopic } from '../helpers/kafka.ts';

const run = promisify(execFile);

async function logSize(topic: string): Promise<number> {
  const { stdout } = await run('java', [
    '-cp', join(ensureKafkaJars(), '*'), 'org.apache.kafka.tools.LogDirsCommand',
    '--bootstrap-server', bootstrapServers(), '--describe', '--topic-list', topic,
  ]);
  const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { brokers: { logDirs: { partitions: { partition: string; size: number }[] }[] }[] };
  return report.brokers.flatMap((b) => b.logDirs.flatMap((d) => d.partitions)).filter((p) => p.partition === `${topic}-0`).reduce((sum, p) => sum + p.size, 0);
}

async function writeWith(batchSize: number | undefined): Promise<number> {
  const topic = randomTopic('batch-size');
  await createTopic([bootstrapServers()], topic, { partitions: 1 });
  const properties = { 'bootstrap.servers': bootstrapServers(), 'linger.ms': 50, ...(batchSize === undefined ? {} : { 'batch.size': batchSize }) };
  const writer = createKafkaWriter(parseKafkaProperties(properties, { sink: 'batch-size' }).settings);
  await writer.write(Array.from({ length: 200 }, (_v, i) => ({ topic, partition: 0, key: null, value: Buffer.alloc(100, i % 256) })));
  await writer.close();
  return logSize(topic);
}

it('closes record batches at batch.size bytes', async () => {
  const [large, tiny] = await Promise.all([writeWith(undefined), writeWith(150)]);
  // 200 records in a few batches against 200 batches of one: at least 150 more batch headers.
  assert.ok(tiny - large > 150 * 61, `log sizes: default batch.size ${large} bytes, batch.size=150 ${tiny} bytes`);
});
