/**
 * End to end: a 6-column table as jsonSpec values with simpleSpec string keys, acks=all and
 * idempotent, to a 6-partition topic — and, in the same run, the same records pre-encoded and
 * sent by the raw Kafka client in batches of the same size. Prints rows/s for both, the ratio,
 * and peak RSS. Uses the embedded broker unless KAFKA_BOOTSTRAP_SERVERS is set.
 *   node bench/produce-end-to-end.ts [rows]
 */
import { startBroker } from '../src/broker/embedded-broker.ts';
import { produce } from '../src/dialects/deephaven.ts';
import { createEncoder, jsonSpec, simpleSpec } from '../src/formats/key-value-spec.ts';
import { createKafkaWriter, createTopic } from '../src/kafka/kafka-client.ts';
import { javaKeyPartition } from '../src/kafka/murmur2.ts';
import { parseKafkaProperties } from '../src/kafka/kafka-properties.ts';
import type { KafkaRecord } from '../src/kafka/record-writer.ts';
import { newTable } from '../src/sources/static-table.ts';
import { sensorRows, sensorSchema } from './sensor-table.ts';

const rows = Number(process.argv[2] ?? 1_000_000);
const bootstrap = process.env.KAFKA_BOOTSTRAP_SERVERS ?? (await startBroker()).bootstrapServers ?? '';
const schema = sensorSchema;
const data = sensorRows(rows);
const kafka = { 'bootstrap.servers': bootstrap };
let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

async function spillway(): Promise<number> {
  const topic = `bench-spillway-${Date.now()}`;
  await createTopic([bootstrap], topic, { partitions: 6 });
  const started = performance.now();
  const sink = produce(newTable(schema, data), kafka, topic, simpleSpec('key'), jsonSpec());
  await sink.done;
  return rows / ((performance.now() - started) / 1000);
}

async function rawClient(): Promise<number> {
  const topic = `bench-raw-${Date.now()}`;
  await createTopic([bootstrap], topic, { partitions: 6 });
  const keyEncoder = createEncoder(simpleSpec('key'), schema, 'key');
  const valueEncoder = createEncoder(jsonSpec(), schema, 'value');
  const table = newTable(schema, data);
  const records: KafkaRecord[] = [];
  for (const [, row] of table.rows()) {
    const key = keyEncoder.encode(row) as Buffer;
    records.push({ topic, partition: javaKeyPartition(key, 6), key, value: valueEncoder.encode(row) });
  }
  const { settings } = parseKafkaProperties(kafka, { sink: 'raw' });
  const writer = createKafkaWriter(settings);
  await writer.describeTopic(topic);
  const started = performance.now();
  for (let i = 0; i < records.length; i += settings.batchNumMessages) await writer.write(records.slice(i, i + settings.batchNumMessages));
  const rate = rows / ((performance.now() - started) / 1000);
  await writer.close();
  return rate;
}

const ours = await spillway();
const raw = await rawClient();
clearInterval(sampler);
console.log(`rows: ${rows}`);
console.log(`spillway produce(): ${Math.round(ours)} rows/s`);
console.log(`raw client, pre-encoded: ${Math.round(raw)} rows/s`);
console.log(`ratio spillway/raw: ${(ours / raw).toFixed(2)}`);
console.log(`peak RSS: ${Math.round(peakRss / 1024 / 1024)} MiB`);
