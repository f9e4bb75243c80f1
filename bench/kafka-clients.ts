/**
 * Why Spillway writes with @platformatic/kafka: the same pre-encoded records (the 6-column rows
 * of bench/produce-end-to-end.ts, as simpleSpec string keys and jsonSpec values) sent to a fresh
 * 6-partition topic with acks=all and the idempotent producer, once through Spillway's Kafka
 * writer (@platformatic/kafka with Spillway's default settings) and once by kafkajs, in batches of
 * the same size, one batch at a time. Each client runs in a child process of its own, so each
 * peak RSS is its own, and the two alternate over several rounds (which goes first swaps each
 * round) so that a busy machine or a warming broker does not favour one. Prints each round, the
 * median rows/s of each client, their ratio, and peak RSS; checks that every record arrived.
 * Uses the embedded broker unless KAFKA_BOOTSTRAP_SERVERS is set.
 *   node bench/kafka-clients.ts [rows] [rounds]        (defaults: 500000 rows, 3 rounds)
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker } from '../src/broker/embedded-broker.ts';
import { createEncoder, jsonSpec, simpleSpec } from '../src/formats/key-value-spec.ts';
import { createKafkaWriter, createTopic } from '../src/kafka/kafka-client.ts';
import { parseKafkaProperties } from '../src/kafka/kafka-properties.ts';
import { javaKeyPartition } from '../src/kafka/murmur2.ts';
import type { KafkaRecord } from '../src/kafka/record-writer.ts';
import { newTable } from '../src/sources/static-table.ts';
import { sensorRows, sensorSchema } from './sensor-table.ts';

const PARTITIONS = 6;
const clients = ['platformatic', 'kafkajs'] as const;
type ClientName = (typeof clients)[number];

interface RunResult {
  readonly client: ClientName;
  readonly topic: string;
  readonly rowsPerSecond: number;
  readonly peakRssBytes: number;
}

/** The records of bench/produce-end-to-end.ts, encoded by Spillway's encoders, with their partitions. */
function encodedRecords(rows: number, topic: string): KafkaRecord[] {
  const schema = sensorSchema;
  const table = newTable(schema, sensorRows(rows));
  const keyEncoder = createEncoder(simpleSpec('key'), schema, 'key');
  const valueEncoder = createEncoder(jsonSpec(), schema, 'value');
  const records: KafkaRecord[] = [];
  for (const [, row] of table.rows()) {
    const key = keyEncoder.encode(row) as Buffer;
    records.push({ topic, partition: javaKeyPartition(key, PARTITIONS), key, value: valueEncoder.encode(row) });
  }
  return records;
}

const settings = (bootstrap: string) => parseKafkaProperties({ 'bootstrap.servers': bootstrap }, { sink: 'bench-clients' }).settings;

/** Spillway's own path: its writer over @platformatic/kafka, with the settings a sink gets by default. */
async function sendWithPlatformatic(bootstrap: string, records: readonly KafkaRecord[]): Promise<number> {
  const writerSettings = settings(bootstrap);
  const writer = createKafkaWriter(writerSettings);
  await writer.describeTopic(records[0]?.topic ?? '');
  const started = performance.now();
  for (let i = 0; i < records.length; i += writerSettings.batchNumMessages) {
    await writer.write(records.slice(i, i + writerSettings.batchNumMessages));
  }
  const seconds = (performance.now() - started) / 1000;
  await writer.close();
  return records.length / seconds;
}

/** kafkajs with the same guarantee: idempotent, acks=all, the same batch size, explicit partitions. */
async function sendWithKafkajs(bootstrap: string, records: readonly KafkaRecord[]): Promise<number> {
  const batch = settings(bootstrap).batchNumMessages;
  const kafka = new Kafka({ clientId: 'bench-kafkajs', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, allowAutoTopicCreation: false });
  await producer.connect();
  const topic = records[0]?.topic ?? '';
  const now = String(Date.now());
  const messages = records.map((record) => ({ key: record.key, value: record.value, partition: record.partition, timestamp: now }));
  const started = performance.now();
  for (let i = 0; i < messages.length; i += batch) {
    await producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages: messages.slice(i, i + batch) }] });
  }
  const seconds = (performance.now() - started) / 1000;
  await producer.disconnect();
  return records.length / seconds;
}

async function child(client: ClientName, bootstrap: string, rows: number): Promise<void> {
  const topic = `bench-clients-${client}-${Date.now()}`;
  await createTopic([bootstrap], topic, { partitions: PARTITIONS });
  const records = encodedRecords(rows, topic);
  const rowsPerSecond = client === 'platformatic' ? await sendWithPlatformatic(bootstrap, records) : await sendWithKafkajs(bootstrap, records);
  const result: RunResult = { client, topic, rowsPerSecond, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Every record arrived: the topic's end offsets add up to the rows sent. */
async function recordsIn(bootstrap: string, topic: string): Promise<number> {
  const admin = new Kafka({ clientId: 'bench-check', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, partition) => sum + Number(partition.high), 0);
  } finally {
    await admin.disconnect();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

async function parent(rows: number, rounds: number): Promise<void> {
  // kafkajs 2.2.4 arms a timer with a negative delay on Node 23 and later; the warning is harmless noise.
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name !== 'TimeoutNegativeWarning') console.warn(warning);
  });
  const bootstrap = process.env.KAFKA_BOOTSTRAP_SERVERS ?? (await startBroker()).bootstrapServers ?? '';
  const run = promisify(execFile);
  const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`;
  const results = new Map<ClientName, RunResult[]>(clients.map((client) => [client, []]));
  console.log(`rows: ${rows}, ${PARTITIONS} partitions, acks=all, idempotent, batches of ${settings(bootstrap).batchNumMessages}, ${rounds} round(s)`);
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? clients : [...clients].reverse();
    for (const client of order) {
      const { stdout } = await run(process.execPath, [fileURLToPath(import.meta.url), 'child', client, bootstrap, String(rows)], {
        maxBuffer: 1024 * 1024,
      });
      const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as RunResult;
      const arrived = await recordsIn(bootstrap, result.topic);
      if (arrived !== rows) throw new Error(`${client} sent ${rows} records but ${result.topic} holds ${arrived}`);
      results.get(client)?.push(result);
      console.log(`  round ${round + 1} ${client}: ${Math.round(result.rowsPerSecond)} rows/s, peak RSS ${mib(result.peakRssBytes)}`);
    }
  }
  const summary = (client: ClientName) => {
    const runs = results.get(client) ?? [];
    return { rate: median(runs.map((r) => r.rowsPerSecond)), rss: Math.max(...runs.map((r) => r.peakRssBytes)) };
  };
  const platformatic = summary('platformatic');
  const kafkajs = summary('kafkajs');
  console.log(`@platformatic/kafka (Spillway's writer): median ${Math.round(platformatic.rate)} rows/s, peak RSS ${mib(platformatic.rss)}`);
  console.log(`kafkajs: median ${Math.round(kafkajs.rate)} rows/s, peak RSS ${mib(kafkajs.rss)}`);
  console.log(`ratio @platformatic/kafka / kafkajs: ${(platformatic.rate / kafkajs.rate).toFixed(2)}`);
}

if (process.argv[2] === 'child') {
  await child(process.argv[3] as ClientName, process.argv[4] ?? '', Number(process.argv[5]));
} else {
  // Without KAFKA_BOOTSTRAP_SERVERS the embedded broker is started (or reused) as `spillway broker start` would.
  await parent(Number(process.argv[2] ?? 500_000), Number(process.argv[3] ?? 3));
}
