/**
 * Which Kafka client Spillway writes with, on figures: the same pre-encoded records (the 6-column
 * rows of bench/sensor-table.ts as simpleSpec string keys of 16 bytes and jsonSpec values of about
 * 110 bytes, partitioned by Spillway's Java-compatible murmur2) sent to a fresh 6-partition topic
 * with acks=all, the idempotent producer and linger.ms=5 by
 *   - @confluentinc/kafka-javascript (librdkafka): its plain Producer, produce() with explicit
 *     partitions, delivery reports for errors only, then flush (the path Spillway's writer takes);
 *   - @platformatic/kafka tuned as far as it goes: batches of 10,000 records with five sends in
 *     flight (its maxInflights), no per-send metadata wait;
 *   - kafkajs: sendBatch of 10,000 records, five in flight;
 * and two ceilings: kcat (librdkafka in C, reading the same key/value lines from a file, murmur2
 * partitioner) and Java's own org.apache.kafka.tools.ProducerPerformance from the broker's jars
 * (values only: it sends no keys). Each runs in a child process of its own, so its CPU time and
 * peak RSS are its own; the Node clients are timed from the first send to the last
 * acknowledgement, kcat over its whole process, Java by its own report. Every run is checked: the
 * topic's end offsets add up to the records sent.
 *   node bench/kafka-clients.ts [records] [rounds]     (defaults: 500000 records, 1 round)
 * Uses the embedded broker unless KAFKA_BOOTSTRAP_SERVERS is set.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Producer as PlatformaticProducer } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { ensureKafkaJars, startBroker } from '../src/broker/embedded-broker.ts';
import { createEncoder, jsonSpec, simpleSpec } from '../src/formats/key-value-spec.ts';
import { createTopic } from '../src/kafka/kafka-client.ts';
import { javaKeyPartition } from '../src/kafka/murmur2.ts';
import { newTable } from '../src/sources/static-table.ts';
import { sensorRows, sensorSchema } from './sensor-table.ts';

const PARTITIONS = 6;
const BATCH = 10_000;
const IN_FLIGHT = 5;
const run = promisify(execFile);

type NodeClient = 'confluent' | 'platformatic' | 'kafkajs';
type ClientName = NodeClient | 'kcat' | 'java';

interface Encoded {
  readonly keys: Buffer[];
  readonly values: Buffer[];
  readonly partitions: number[];
  readonly bytes: number;
}

interface RunResult {
  readonly client: ClientName;
  readonly records: number;
  readonly seconds: number;
  readonly bytes: number;
  readonly cpuSeconds: number;
  readonly peakRssBytes: number;
  /** RSS with the records loaded, before the client starts: what the client adds is the difference. */
  readonly baseRssBytes: number;
}

function encode(rows: number): Encoded {
  const table = newTable(sensorSchema, sensorRows(rows));
  const keyEncoder = createEncoder(simpleSpec('key'), sensorSchema, 'key');
  const valueEncoder = createEncoder(jsonSpec(), sensorSchema, 'value');
  const keys: Buffer[] = [];
  const values: Buffer[] = [];
  const partitions: number[] = [];
  let bytes = 0;
  for (const [, row] of table.rows()) {
    const key = keyEncoder.encode(row) as Buffer;
    const value = valueEncoder.encode(row) as Buffer;
    keys.push(key);
    values.push(value);
    partitions.push(javaKeyPartition(key, PARTITIONS));
    bytes += key.length + value.length;
  }
  return { keys, values, partitions, bytes };
}

/** Runs `send` with at most `limit` batches in flight. */
async function pipelined(count: number, limit: number, send: (start: number, end: number) => Promise<unknown>): Promise<void> {
  const inFlight = new Set<Promise<unknown>>();
  for (let start = 0; start < count; start += BATCH) {
    const sent: Promise<unknown> = send(start, Math.min(count, start + BATCH)).finally(() => inFlight.delete(sent));
    inFlight.add(sent);
    if (inFlight.size >= limit) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}

interface RdkafkaProducer {
  connect(options: object, cb: (error: unknown) => void): void;
  produce(topic: string, partition: number, value: Buffer, key: Buffer, timestamp: number): void;
  poll(): void;
  setPollInterval(ms: number): void;
  flush(timeout: number, cb: (error: unknown) => void): void;
  disconnect(cb: () => void): void;
  on(event: string, listener: (...args: unknown[]) => void): void;
}
type RdkafkaModule = { Producer: new (config: Record<string, unknown>) => RdkafkaProducer; CODES: { ERRORS: Record<string, number> } };

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(JSON.stringify(error)));

/** librdkafka through its binding: produce() each record, errors-only delivery reports, then flush. */
async function sendWithRdkafka(module: RdkafkaModule, bootstrap: string, topic: string, data: Encoded): Promise<void> {
  const producer = new module.Producer({
    'bootstrap.servers': bootstrap,
    'enable.idempotence': true,
    acks: 'all',
    'linger.ms': 5,
    dr_cb: true,
    'delivery.report.only.error': true,
  });
  let failure: unknown;
  producer.on('delivery-report', (error) => {
    failure ??= error;
  });
  await new Promise<void>((resolve, reject) => producer.connect({}, (error) => (error ? reject(asError(error)) : resolve())));
  producer.setPollInterval(10);
  const queueFull = module.CODES.ERRORS.ERR__QUEUE_FULL;
  const now = Date.now();
  for (let i = 0; i < data.keys.length; i++) {
    try {
      producer.produce(topic, data.partitions[i] as number, data.values[i] as Buffer, data.keys[i] as Buffer, now);
    } catch (error) {
      if ((error as { code?: number }).code !== queueFull) throw error;
      // The producer queue is full: let the event loop serve delivery reports, then retry.
      await new Promise((resolve) => setImmediate(resolve));
      i--;
    }
  }
  await new Promise<void>((resolve, reject) => producer.flush(60_000, (error) => (error ? reject(asError(error)) : resolve())));
  if (failure !== undefined) throw asError(failure);
  producer.setPollInterval(0);
  await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
}

async function sendWithPlatformatic(bootstrap: string, topic: string, data: Encoded): Promise<void> {
  const producer = new PlatformaticProducer({
    clientId: 'bench-platformatic',
    bootstrapBrokers: [bootstrap],
    idempotent: true,
    acks: -1,
    maxInflights: IN_FLIGHT,
  });
  await producer.metadata({ topics: [topic] });
  const timestamp = BigInt(Date.now());
  await pipelined(data.keys.length, IN_FLIGHT, (start, end) => {
    const messages = [];
    for (let i = start; i < end; i++) {
      messages.push({ topic, partition: data.partitions[i] as number, key: data.keys[i] as Buffer, value: data.values[i] as Buffer, timestamp });
    }
    return producer.send({ messages });
  });
  await producer.close();
}

async function sendWithKafkajs(bootstrap: string, topic: string, data: Encoded): Promise<void> {
  const kafka = new Kafka({ clientId: 'bench-kafkajs', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  // kafkajs keeps idempotent sends at one in flight per broker (maxInFlightRequests is forced to 1).
  const producer = kafka.producer({ idempotent: true, allowAutoTopicCreation: false });
  await producer.connect();
  const timestamp = String(Date.now());
  await pipelined(data.keys.length, IN_FLIGHT, (start, end) => {
    const messages = [];
    for (let i = start; i < end; i++) {
      messages.push({ partition: data.partitions[i] as number, key: data.keys[i] as Buffer, value: data.values[i] as Buffer, timestamp });
    }
    return producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] });
  });
  await producer.disconnect();
}

/** The records the parent encoded, read back as buffers, so a child's peak RSS holds no table. */
function readEncoded(file: string): Encoded {
  const text = readFileSync(file, 'latin1');
  const keys: Buffer[] = [];
  const values: Buffer[] = [];
  const partitions: number[] = [];
  let bytes = 0;
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const tab = line.indexOf('\t');
    const key = Buffer.from(line.slice(0, tab), 'latin1');
    const value = Buffer.from(line.slice(tab + 1), 'latin1');
    keys.push(key);
    values.push(value);
    partitions.push(javaKeyPartition(key, PARTITIONS));
    bytes += key.length + value.length;
  }
  return { keys, values, partitions, bytes };
}

function writeEncoded(data: Encoded, dir: string): string {
  const file = join(dir, 'records.tsv');
  if (!existsSync(file)) {
    const lines = data.keys.map((key, i) => `${key.toString('latin1')}\t${(data.values[i] as Buffer).toString('latin1')}`);
    writeFileSync(file, `${lines.join('\n')}\n`, 'latin1');
  }
  return file;
}

async function child(client: NodeClient, bootstrap: string, topic: string, file: string): Promise<void> {
  const data = readEncoded(file);
  const rows = data.keys.length;
  const module = client === 'confluent' ? (createRequire(import.meta.url)('@confluentinc/kafka-javascript') as RdkafkaModule) : undefined;
  const baseRssBytes = process.memoryUsage().rss;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  if (module !== undefined) await sendWithRdkafka(module, bootstrap, topic, data);
  else if (client === 'platformatic') await sendWithPlatformatic(bootstrap, topic, data);
  else await sendWithKafkajs(bootstrap, topic, data);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const result: RunResult = {
    client,
    records: rows,
    seconds,
    bytes: data.bytes,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    baseRssBytes,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** `/usr/bin/time -f` around an external process: wall s, user+system CPU s, peak RSS KiB. */
async function timed(command: string, args: string[]): Promise<{ stdout: string; wall: number; cpu: number; rssKib: number }> {
  const { stdout, stderr } = await run('/usr/bin/time', ['-f', 'TIMED %e %U %S %M', command, ...args], { maxBuffer: 64 * 1024 * 1024 });
  const line = stderr.split('\n').find((entry) => entry.startsWith('TIMED ')) ?? '';
  const [, wall, user, system, rss] = line.split(' ').map(Number);
  return { stdout, wall: wall ?? NaN, cpu: (user ?? NaN) + (system ?? NaN), rssKib: rss ?? NaN };
}

async function kcat(bootstrap: string, topic: string, data: Encoded, dir: string): Promise<RunResult> {
  const file = writeEncoded(data, dir);
  const result = await timed('kcat', [
    '-P', '-b', bootstrap, '-t', topic, '-K', '\t', '-l', file,
    '-X', 'enable.idempotence=true', '-X', 'acks=all', '-X', 'linger.ms=5', '-X', 'partitioner=murmur2_random',
  ]);
  return { client: 'kcat', records: data.keys.length, seconds: result.wall, bytes: data.bytes, cpuSeconds: result.cpu, peakRssBytes: result.rssKib * 1024, baseRssBytes: 0 };
}

async function java(bootstrap: string, topic: string, data: Encoded, dir: string): Promise<RunResult> {
  const file = join(dir, 'values.txt');
  if (!existsSync(file)) writeFileSync(file, `${data.values.map((value) => value.toString('latin1')).join('\n')}\n`, 'latin1');
  const libs = ensureKafkaJars();
  const result = await timed('java', [
    '-Xmx1g', '-cp', join(libs, '*'), 'org.apache.kafka.tools.ProducerPerformance',
    '--topic', topic, '--num-records', String(data.keys.length), '--throughput', '-1', '--payload-file', file,
    '--producer-props', `bootstrap.servers=${bootstrap}`, 'acks=all', 'enable.idempotence=true', 'linger.ms=5',
  ]);
  // "500000 records sent, 212314.2 records/sec (…)": its own figure, without the JVM's start-up.
  const rate = Number(/([\d.]+) records\/sec/.exec(result.stdout.trim().split('\n').at(-1) ?? '')?.[1]);
  const valueBytes = data.values.reduce((sum, value) => sum + value.length, 0);
  return { client: 'java', records: data.keys.length, seconds: data.keys.length / rate, bytes: valueBytes, cpuSeconds: result.cpu, peakRssBytes: result.rssKib * 1024, baseRssBytes: 0 };
}

/** Every record arrived: the topic's end offsets add up to the records sent. */
async function recordsIn(bootstrap: string, topic: string): Promise<number> {
  const admin = new Kafka({ clientId: 'bench-check', brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
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
  const dir = join(tmpdir(), `spillway-bench-clients-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const data = encode(rows);
  const clients: ClientName[] = ['confluent', 'platformatic', 'kafkajs', 'kcat', 'java'];
  const results = new Map<ClientName, RunResult[]>(clients.map((client) => [client, []]));
  console.log(`${rows} records (16-byte keys, ~${Math.round(data.bytes / rows - 16)}-byte values), ${PARTITIONS} partitions, acks=all, idempotent, linger.ms=5, ${rounds} round(s)`);
  for (let round = 0; round < rounds; round++) {
    // Rotate the order each round so a warming broker or a busy machine favours no client.
    const order = clients.map((_c, i) => clients[(i + round) % clients.length] as ClientName);
    for (const client of order) {
      const topic = `bench-clients-${client}-${Date.now()}`;
      await createTopic([bootstrap], topic, { partitions: PARTITIONS });
      let result: RunResult;
      if (client === 'kcat') result = await kcat(bootstrap, topic, data, dir);
      else if (client === 'java') result = await java(bootstrap, topic, data, dir);
      else {
        const { stdout } = await run(process.execPath, [fileURLToPath(import.meta.url), 'child', client, bootstrap, topic, writeEncoded(data, dir)], {
          maxBuffer: 1024 * 1024,
        });
        result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as RunResult;
      }
      const arrived = await recordsIn(bootstrap, topic);
      if (arrived !== rows) throw new Error(`${client} sent ${rows} records but ${topic} holds ${arrived}`);
      results.get(client)?.push(result);
    }
  }
  const label: Record<ClientName, string> = {
    confluent: '@confluentinc/kafka-javascript 1.10 (Spillway)',
    platformatic: '@platformatic/kafka 2.12 (tuned)',
    kafkajs: 'kafkajs 2.2',
    kcat: 'kcat (ceiling)',
    java: 'Java ProducerPerformance (ceiling)',
  };
  const rowsFor = clients.map((client) => {
    const runs = results.get(client) ?? [];
    return {
      client,
      rate: median(runs.map((r) => r.records / r.seconds)),
      mbps: median(runs.map((r) => r.bytes / r.seconds / 1e6)),
      cpu: median(runs.map((r) => r.cpuSeconds)),
      rss: Math.max(...runs.map((r) => r.peakRssBytes)),
      added: Math.max(...runs.map((r) => r.peakRssBytes - r.baseRssBytes)),
    };
  });
  const chosen = rowsFor.find((row) => row.client === 'confluent')?.rate ?? NaN;
  console.log('| client | records/s | MB/s | CPU s | peak RSS MiB | RSS added by the client MiB | Spillway\'s client ÷ this |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rowsFor) {
    console.log(
      `| ${label[row.client]} | ${Math.round(row.rate)} | ${row.mbps.toFixed(1)} | ${row.cpu.toFixed(2)} | ${Math.round(row.rss / 1024 / 1024)} | ${Math.round(row.added / 1024 / 1024)} | ${(chosen / row.rate).toFixed(2)} |`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
  console.log(
    'Java sends values only (no keys); its MB/s counts values. kcat and Java CPU s include process start-up. ' +
      'A Node child holds the records as buffers before its client starts; the column before the ratio is what the client adds.',
  );
}

if (process.argv[2] === 'child') {
  await child(process.argv[3] as NodeClient, process.argv[4] ?? '', process.argv[5] ?? '', process.argv[6] ?? '');
} else {
  await parent(Number(process.argv[2] ?? 500_000), Number(process.argv[3] ?? 1));
}
