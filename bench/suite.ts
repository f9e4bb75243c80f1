/**
 * The benchmark suite (`npm run bench`): Spillway's sinks end to end against the broker, each
 * scenario beside peers that send the same records in the same run — kcat (librdkafka) from a
 * file of the pre-encoded lines, Java's org.apache.kafka.tools.ProducerPerformance (the broker's
 * own jars) with a payload file of the same values, and Spillway's own Kafka writer sending the
 * same pre-encoded records ("raw"). Every topic has 6 partitions; every producer uses acks=all,
 * the idempotent producer and linger.ms=5.
 *
 * Each measured run is a process of its own, started under /usr/bin/time, so peak RSS and CPU
 * seconds are that process's alone. Spillway's runs time themselves from the sink's start (before
 * it connects) to its last acknowledgement, and the raw writer and KafkaJS from before they
 * connect; kcat's time is its process's; Java's is what ProducerPerformance prints.
 *
 *   npm run bench                       scenarios 1-3 at 1,000,000 rows, each run BENCH_REPEAT (2) times
 *   BENCH_QUICK=1 npm run bench         scenario 1 (JSON) at 200,000 rows with every peer, once
 *   BENCH_SCENARIOS=1-json,3-upsert     a subset;  BENCH_ROWS=n  another row count
 *   BENCH_BEFORE=<checkout>             also runs Spillway from that checkout: spillway/before
 *   BENCH_SUBJECTS=spillway,raw         only these subjects;  BENCH_IN_FLIGHT=n  writes the raw peer keeps in flight (1)
 *   BENCH_WARMUP=0                      no uncounted runs of the raw writer first (they warm the broker's JIT)
 * Each scenario also runs `sink`: Spillway's sink with a writer that acknowledges at once (no Kafka).
 * Scenario 1 also runs `kafkajs`: KafkaJS sending the same pre-encoded records. Scenario 4 runs
 * exactly-once (a transaction every 100 ms) beside `at-least-once` on the same rows.
 * 5-latency (BENCH_LATENCY_RATE rows/s, 10,000, for BENCH_LATENCY_SECONDS, 60) measures p50/p99/max from a
 * row entering the table to its record acknowledged; 6-sql runs INSERT INTO from datagen through runSql.
 * 6-rest runs `spillway serve` fed by HTTP ingress (bench/rest-ingress.ts; BENCH_REST_BODY_ROWS rows per
 * body, 10,000, BENCH_REST_IN_FLIGHT bodies at once, 4) beside scenario 1's spillway and kcat.
 * Uses the embedded broker unless KAFKA_BOOTSTRAP_SERVERS is set; scenario 2's Avro starts the
 * embedded schema registry unless SCHEMA_REGISTRY_URL is set.
 */
import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KAFKA_VERSION, defaultCacheDir, startBroker } from '../src/broker/embedded-broker.ts';
import { startRegistry } from '../src/broker/embedded-registry.ts';
import { produce } from '../src/dialects/deephaven.ts';
import type { Encoder } from '../src/formats/encoder.ts';
import { type KeyValueSpecInput, avroSpec, createEncoder, csvSpec, jsonSpec, keyValueSpecSchema, simpleSpec } from '../src/formats/key-value-spec.ts';
import { createKafkaWriter, createTopic } from '../src/kafka/kafka-client.ts';
import { parseKafkaProperties } from '../src/kafka/kafka-properties.ts';
import { javaKeyPartition } from '../src/kafka/murmur2.ts';
import type { KafkaRecord, RecordWriter } from '../src/kafka/record-writer.ts';
import { type Row, defineSchema, normalizeRow } from '../src/model/schema.ts';
import { fromAsyncIterable } from '../src/sources/iterable-table.ts';
import { TIME_ARGS, processFigures } from './process-figures.ts';
import { type IngressFormat, ingressBodies, restIngressRun } from './rest-ingress.ts';
import { sensorRow, sensorSchema } from './sensor-table.ts';

const PARTITIONS = 6;
/** Uncounted runs of the raw writer at most, before the first scenario, to warm a new broker. */
const WARMUP_RUNS = 5;
const LINGER_MS = 5;
const BATCH = 1000;
/** Writes the raw peer keeps in flight at once. */
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 1);
const run = promisify(execFile);
/**
 * Node's flags for Spillway's children: the V8 flags the `spillway` command starts Node with (the
 * first line of bin/spillway.js), unless BENCH_NODE_FLAGS gives others (`BENCH_NODE_FLAGS=` for
 * Node's defaults). The peers run as they come.
 */
const SPILLWAY_NODE_FLAGS: readonly string[] =
  process.env.BENCH_NODE_FLAGS !== undefined
    ? process.env.BENCH_NODE_FLAGS.split(/\s+/).filter((flag) => flag !== '')
    : (readFileSync(new URL('../bin/spillway.js', import.meta.url), 'utf8').split('\n', 1)[0] ?? '').split(/\s+/).filter((word) => word.startsWith('--'));

/** What a scenario writes: its rows, key and value formats, and whether peers can send its records. */
interface Scenario {
  readonly name: string;
  readonly title: string;
  readonly value: 'json' | 'avro' | 'csv';
  readonly compression?: 'lz4';
  readonly upsert?: boolean;
  /** Exactly-once with an epoch (a transaction) every 100 ms; `at-least-once` runs beside it on the same data. */
  readonly exactlyOnce?: boolean;
  /** Peers that can send these records (Java's tool sends keyless values; kcat sends text lines). */
  readonly peers: readonly Peer[];
}
type Peer = 'kcat' | 'java' | 'raw' | 'kafkajs';
/**
 * Extra subjects: `sink` is Spillway's sink with a writer that acknowledges at once (no Kafka), the
 * ceiling the transport leaves; `before` is the same Spillway run from another checkout
 * (BENCH_BEFORE=<dir>, which holds this file too), for before/after figures in one run.
 */
type Extra = 'sink' | 'before' | 'at-least-once';

const SCENARIOS: readonly Scenario[] = [
  { name: '1-json', title: 'append, JSON values, string keys', value: 'json', peers: ['kcat', 'java', 'raw', 'kafkajs'] },
  { name: '1-json-lz4', title: 'append, JSON values, string keys, lz4', value: 'json', compression: 'lz4', peers: ['kcat', 'java', 'raw'] },
  // Avro's binary may hold any byte, so the line-based peers cannot carry it; the raw writer can.
  { name: '2-avro', title: 'append, Avro (Confluent wire format, registry)', value: 'avro', peers: ['raw'] },
  { name: '2-csv', title: 'append, CSV values', value: 'csv', peers: ['kcat', 'java', 'raw'] },
  // Java's tool writes no keys and no tombstones, so it cannot send an upsert changelog.
  { name: '3-upsert', title: 'upsert, 100k keys, 10% deletes', value: 'json', upsert: true, peers: ['kcat', 'raw'] },
  { name: '4-exactly-once', title: 'append, JSON values, exactly-once: a transaction every 100 ms (continuous trigger, 100 ms epochs)', value: 'json', exactlyOnce: true, peers: [] },
];
/** Scenarios of the performance issue that wait on other work; listed so the table says so. */
const PENDING: string[] = [];
/** Scenarios with their own measures (latency; the SQL path), run after the throughput scenarios. */
const OTHER_SCENARIOS = ['5-latency', '6-sql', '6-rest'] as const;

const keysOf = (rows: number) => Math.max(1, Math.floor(rows / 10));

/** Scenario 3's changelog: puts and (1 in 10) deletes of keys drawn by a linear congruential generator. */
function* changelog(rows: number): Generator<{ readonly remove: boolean; readonly id: number; readonly i: number }> {
  let seed = 42;
  const keys = keysOf(rows);
  for (let i = 0; i < rows; i++) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    yield { remove: seed % 10 === 0, id: seed % keys, i };
  }
}
const upsertSchema = defineSchema({ id: 'int32', key: 'string', amount: 'float64', seq: 'int64', note: 'string' }, { primaryKey: ['id'] });
const upsertRow = (id: number, i: number) => ({ id, key: `key-${id}`, amount: i * 0.25, seq: BigInt(i), note: 'the quick brown fox jumps over the lazy d' });

function valueSpec(scenario: Scenario): KeyValueSpecInput {
  switch (scenario.value) {
    case 'json':
      return jsonSpec();
    case 'csv':
      return csvSpec();
    case 'avro':
      return avroSpec();
  }
}

function kafkaConfig(scenario: Scenario, bootstrap: string, registry: string | undefined): Record<string, string | number> {
  return {
    'bootstrap.servers': bootstrap,
    'linger.ms': LINGER_MS,
    ...(scenario.compression === undefined ? {} : { 'compression.type': scenario.compression }),
    ...(registry === undefined || scenario.value !== 'avro' ? {} : { 'schema.registry.url': registry }),
  };
}

interface Measured {
  readonly rows: number;
  readonly records: number;
  readonly bytes: number;
  readonly seconds: number;
}

/** Spillway end to end: a generated stream (never an array of all rows) through a sink. */
async function spillwayChild(scenario: Scenario, topic: string, rows: number, bootstrap: string, registry: string | undefined, subject: string): Promise<Measured> {
  const kafka = kafkaConfig(scenario, bootstrap, registry);
  const dependencies = subject === 'sink' ? { createWriter: () => nullWriter } : {};
  const delivery =
    scenario.exactlyOnce === true && subject !== 'at-least-once' ? { delivery: 'exactly-once' as const, trigger: { continuous: '100 ms' }, name: `bench-eos-${topic}` } : {};
  if (scenario.upsert === true) {
    // Puts and deletes in changelog order, a batch at a time, upserted by the primary key.
    function* changes() {
      let batch: (Record<string, unknown> | { op: 'delete'; row: Record<string, unknown> })[] = [];
      for (const change of changelog(rows)) {
        batch.push(change.remove ? { op: 'delete', row: { id: change.id } } : upsertRow(change.id, change.i));
        if (batch.length >= BATCH) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    }
    const started = performance.now();
    const sink = produce({ table: fromAsyncIterable(upsertSchema, changes()), kafkaConfig: kafka, topic, keySpec: simpleSpec('key'), valueSpec: valueSpec(scenario), mode: 'upsert', name: 'bench-upsert', dependencies });
    await sink.done;
    return { rows, records: sink.metrics.records, bytes: sink.metrics.bytes, seconds: (performance.now() - started) / 1000 };
  }
  function* generated() {
    for (let start = 0; start < rows; start += BATCH) {
      const batch: Record<string, unknown>[] = [];
      for (let i = start; i < Math.min(rows, start + BATCH); i++) batch.push(sensorRow(i));
      yield batch;
    }
  }
  const started = performance.now();
  const sink = produce({ table: fromAsyncIterable(sensorSchema, generated()), kafkaConfig: kafka, topic, keySpec: simpleSpec('key'), valueSpec: valueSpec(scenario), dependencies, ...delivery });
  await sink.done;
  return { rows, records: sink.metrics.records, bytes: sink.metrics.bytes, seconds: (performance.now() - started) / 1000 };
}

/** A writer that acknowledges every record at once: the sink alone, without Kafka. */
const nullWriter: RecordWriter = {
  describeTopic: (name) => Promise.resolve({ name, partitions: PARTITIONS }),
  write: () => Promise.resolve(),
  close: () => Promise.resolve(),
};

/**
 * Spillway's own writer sending the pre-encoded records of the records file, in batches of
 * batch.num.messages, each batch's records made as it is sent (as kcat reads its lines as it
 * goes), so the peer holds no more records than Spillway's sink does.
 */
async function rawChild(scenario: Scenario, topic: string, file: string, bootstrap: string): Promise<Measured> {
  const { settings } = parseKafkaProperties(kafkaConfig(scenario, bootstrap, undefined), { sink: 'bench-raw' });
  const parts = readRecordsFile(file);
  let records = 0;
  let bytes = 0;
  // Timed from before it connects, as Spillway's sink is (and kcat's process): the same work to compare.
  const started = performance.now();
  const writer = createKafkaWriter(settings);
  await writer.describeTopic(topic);
  // Up to BENCH_IN_FLIGHT writes at once (default 1: one write acknowledged before the next).
  const inFlight = new Set<Promise<void>>();
  for (let done = false; !done; ) {
    const batch: KafkaRecord[] = [];
    while (batch.length < settings.batchNumMessages) {
      const next = parts.next();
      if (next.done === true) {
        done = true;
        break;
      }
      const [key, value] = next.value;
      batch.push({ topic, partition: javaKeyPartition(key, PARTITIONS), key, value });
      bytes += key.length + (value?.length ?? 0);
    }
    if (batch.length === 0) break;
    records += batch.length;
    const write = writer.write(batch).then(() => {
      inFlight.delete(write);
    });
    inFlight.add(write);
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - started) / 1000;
  await writer.close();
  return { rows: records, records, bytes, seconds };
}

/** KafkaJS sending the same pre-encoded records: sendBatch of batch.num.messages records, BENCH_IN_FLIGHT at once. */
async function kafkajsChild(topic: string, file: string, bootstrap: string): Promise<Measured> {
  const messages: { partition: number; key: Buffer; value: Buffer | null }[] = [];
  let bytes = 0;
  for (const [key, value] of readRecordsFile(file)) {
    messages.push({ partition: javaKeyPartition(key, PARTITIONS), key, value });
    bytes += key.length + (value?.length ?? 0);
  }
  // kafkajs 2.2.4 arms a timer with a negative delay on Node 23 and later; the warning is noise.
  process.removeAllListeners('warning');
  // Imported here, so the other children's memory holds no KafkaJS.
  const { Kafka, logLevel } = await import('kafkajs');
  const kafka = new Kafka({ clientId: 'bench-kafkajs', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, allowAutoTopicCreation: false });
  const per = 5_000;
  const started = performance.now();
  await producer.connect();
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < messages.length; i += per) {
    const send = producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages: messages.slice(i, i + per) }] }).then(() => {
      inFlight.delete(send);
    });
    inFlight.add(send);
    if (inFlight.size >= Math.max(1, IN_FLIGHT)) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - started) / 1000;
  await producer.disconnect();
  return { rows: messages.length, records: messages.length, bytes, seconds };
}

interface Latency {
  readonly rows: number;
  readonly seconds: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * Scenario 5: once the sink has connected, rows enter the table at a steady rate (every 5 ms, the
 * rows due by the clock) and a continuous sink writes them. A writer wrapping the real one notes when each write is
 * acknowledged; a record's latency is that moment minus the moment its row entered the table
 * (found by the row's id, the record's key).
 */
async function latencyChild(topic: string, seconds: number, rate: number, bootstrap: string): Promise<Latency> {
  const total = Math.round(seconds * rate);
  const entered = new Float64Array(total);
  const latencies = new Float64Array(total);
  let acknowledged = 0;
  // The clock starts once the sink has connected and learned the topic: connecting is not latency.
  let connected!: () => void;
  const ready = new Promise<void>((resolve) => (connected = resolve));
  async function* steady() {
    await ready;
    const started = performance.now();
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
      if (due > sent) {
        const batch: Record<string, unknown>[] = [];
        const now = performance.now();
        for (; sent < due; sent++) {
          entered[sent] = now;
          batch.push(sensorRow(sent));
        }
        yield batch;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  const kafka = { 'bootstrap.servers': bootstrap, 'linger.ms': LINGER_MS };
  const createWriter = (settings: Parameters<typeof createKafkaWriter>[0], options: Parameters<typeof createKafkaWriter>[1]): RecordWriter => {
    const writer = createKafkaWriter(settings, options);
    return {
      describeTopic: async (name) => {
        const description = await writer.describeTopic(name);
        connected();
        return description;
      },
      close: () => writer.close(),
      write: async (records) => {
        await writer.write(records);
        const now = performance.now();
        for (const record of records) {
          const id = Number((record.key as Buffer).readBigInt64BE(0));
          latencies[acknowledged++] = now - (entered[id] as number);
        }
      },
    };
  };
  const started = performance.now();
  const sink = produce({ table: fromAsyncIterable(sensorSchema, steady()), kafkaConfig: kafka, topic, keySpec: simpleSpec('id'), valueSpec: jsonSpec(), dependencies: { createWriter } });
  await sink.done;
  const elapsed = (performance.now() - started) / 1000;
  const sorted = latencies.subarray(0, acknowledged).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { rows: acknowledged, seconds: elapsed, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? Number.NaN };
}

/** Scenario 6: `INSERT INTO` a Kafka table (JSON) from a datagen table of `rows` rows, through runSql. */
async function sqlChild(topic: string, rows: number, bootstrap: string): Promise<Measured> {
  const sql = `CREATE TABLE gen (id BIGINT, key STRING, a DOUBLE, b DOUBLE, n INT, note STRING) WITH ('connector' = 'datagen',
      'rows-per-second' = '100000000', 'number-of-rows' = '${rows}', 'fields.id.kind' = 'sequence', 'fields.id.start' = '0', 'fields.id.end' = '${rows - 1}',
      'fields.key.length' = '16', 'fields.n.min' = '0', 'fields.n.max' = '999', 'fields.note.length' = '41');
    CREATE TABLE bench_out (id BIGINT, key STRING, a DOUBLE, b DOUBLE, n INT, note STRING) WITH ('connector' = 'kafka', 'topic' = '${topic}',
      'properties.bootstrap.servers' = '${bootstrap}', 'properties.linger.ms' = '${LINGER_MS}', 'key.format' = 'raw', 'key.fields' = 'key', 'value.format' = 'json');
    INSERT INTO bench_out SELECT * FROM gen`;
  // Imported here, so the other children's memory holds no SQL parser.
  const { runSql } = await import('../src/dialects/sql/job.ts');
  const started = performance.now();
  const job = await runSql(sql);
  await job.done;
  const seconds = (performance.now() - started) / 1000;
  const metrics = job.sinks.map((sink) => sink.metrics);
  return { rows, records: metrics.reduce((n, m) => n + m.records, 0), bytes: metrics.reduce((n, m) => n + m.bytes, 0), seconds };
}

/**
 * The records file: per record a 4-byte key length, the key, a 4-byte value length (0xFFFFFFFF
 * for a tombstone) and the value — binary-safe, so Avro fits too.
 */
function readRecordsFile(file: string): Generator<[Buffer, Buffer | null]> {
  // Read now, not when the first record is asked for: reading the file is not sending.
  return recordsOf(readFileSync(file));
}

function* recordsOf(data: Buffer): Generator<[Buffer, Buffer | null]> {
  let offset = 0;
  while (offset < data.length) {
    const keyLength = data.readUInt32BE(offset);
    const key = data.subarray(offset + 4, offset + 4 + keyLength);
    offset += 4 + keyLength;
    const valueLength = data.readUInt32BE(offset);
    offset += 4;
    if (valueLength === 0xffffffff) {
      yield [key, null];
      continue;
    }
    yield [key, data.subarray(offset, offset + valueLength)];
    offset += valueLength;
  }
}

/** Encodes the scenario's records with Spillway's encoders: the binary records file, kcat's lines, Java's payloads. */
async function writeRecordFiles(scenario: Scenario, rows: number, dir: string, registry: string | undefined): Promise<{ records: string; lines: string; payloads: string }> {
  const schema = scenario.upsert === true ? upsertSchema : sensorSchema;
  const keyEncoder = createEncoder(keyValueSpecSchema.parse(simpleSpec('key')), schema, 'key');
  const valueEncoder: Encoder = createEncoder(keyValueSpecSchema.parse(valueSpec(scenario)), schema, 'value');
  await valueEncoder.prepare?.({ sink: 'bench-files', topic: `bench-files-${scenario.name}`, part: 'value', ...(registry === undefined ? {} : { schemaRegistryUrl: registry }) });
  const paths = { records: join(dir, `${scenario.name}.records`), lines: join(dir, `${scenario.name}.tsv`), payloads: join(dir, `${scenario.name}.values`) };
  const records = createWriteStream(paths.records);
  const lines = createWriteStream(paths.lines);
  const payloads = createWriteStream(paths.payloads);
  const write = async (stream: NodeJS.WritableStream, chunk: Buffer | string) => {
    if (!stream.write(chunk)) await new Promise((resolve) => stream.once('drain', resolve));
  };
  const emit = async (row: Row, tombstone: boolean) => {
    const key = keyEncoder.encode(row) as Buffer;
    const value = tombstone ? null : (valueEncoder.encode(row) as Buffer);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(key.length);
    const valueHeader = Buffer.alloc(4);
    valueHeader.writeUInt32BE(value === null ? 0xffffffff : value.length);
    await write(records, Buffer.concat([header, key, valueHeader, value ?? Buffer.alloc(0)]));
    if (scenario.value !== 'avro') {
      await write(lines, Buffer.concat([key, Buffer.from('\t'), value ?? Buffer.alloc(0), Buffer.from('\n')]));
      if (value !== null) await write(payloads, Buffer.concat([value, Buffer.from('\n')]));
    }
  };
  if (scenario.upsert === true) {
    // The records an upsert sink writes for this changelog: the row per put, a tombstone per delete of a present key.
    const present = new Map<number, Row>();
    for (const change of changelog(rows)) {
      if (change.remove) {
        const before = present.get(change.id);
        if (before !== undefined) await emit(before, true);
        present.delete(change.id);
      } else {
        const row = normalizeRow(upsertSchema, upsertRow(change.id, change.i), 'bench');
        present.set(change.id, row);
        await emit(row, false);
      }
    }
  } else {
    for (let i = 0; i < rows; i++) await emit(normalizeRow(sensorSchema, sensorRow(i), 'bench'), false);
  }
  await Promise.all([records, lines, payloads].map((stream) => new Promise((resolve) => stream.end(resolve))));
  return paths;
}

interface Result {
  readonly subject: 'spillway' | Peer | Extra;
  readonly rowsPerSecond: number;
  readonly megabytesPerSecond: number;
  readonly peakRssMiB: number;
  readonly cpuSeconds: number;
  readonly records: number;
}

/** kcat is a peer, not a dependency of Spillway's: say how to get it before any scenario runs. */
async function requireKcat(): Promise<void> {
  try {
    await run('kcat', ['-V']);
  } catch {
    throw new Error('kcat, a peer of the benchmark, is not installed: install it (Debian: apt-get install kcat; `bash scripts/test` installs it too), or leave it out with BENCH_SUBJECTS');
  }
}

/** Runs a command under /usr/bin/time; returns its output and its peak RSS (MiB) and CPU seconds. */
async function timed(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<{ stdout: string; stderr: string; rssMiB: number; cpu: number; wall: number }> {
  const { stdout, stderr } = await run('/usr/bin/time', [...TIME_ARGS, command, ...args], { env, maxBuffer: 64 * 1024 * 1024 });
  return { stdout, stderr, ...(processFigures(stderr) ?? { rssMiB: Number.NaN, cpu: Number.NaN, wall: Number.NaN }) };
}

async function fileSize(path: string): Promise<number> {
  const { statSync } = await import('node:fs');
  return statSync(path).size;
}

async function countLines(path: string): Promise<number> {
  let count = 0;
  for await (const _line of createInterface({ input: createReadStream(path) })) count++;
  return count;
}

async function measure(subject: Result['subject'], scenario: Scenario, rows: number, files: { records: string; lines: string; payloads: string }, bootstrap: string, registry: string | undefined): Promise<Result> {
  const topic = `bench-${scenario.name}-${subject}-${Date.now()}`;
  await createTopic([bootstrap], topic, { partitions: PARTITIONS });
  const self = fileURLToPath(import.meta.url);
  const result = (measured: Measured, time: { rssMiB: number; cpu: number }): Result => ({
    subject,
    rowsPerSecond: measured.rows / measured.seconds,
    megabytesPerSecond: measured.bytes / 1024 / 1024 / measured.seconds,
    peakRssMiB: time.rssMiB,
    cpuSeconds: time.cpu,
    records: measured.records,
  });
  switch (subject) {
    case 'spillway':
    case 'sink':
    case 'before':
    case 'at-least-once':
    case 'kafkajs':
    case 'raw': {
      const script = subject === 'before' ? join(process.env.BENCH_BEFORE ?? '', 'bench', 'suite.ts') : self;
      const args = [...(subject === 'kafkajs' || subject === 'raw' ? [] : SPILLWAY_NODE_FLAGS), script, 'child', subject === 'before' ? 'spillway' : subject, scenario.name, topic, String(rows), subject === 'raw' || subject === 'kafkajs' ? files.records : ''];
      const time = await timed(process.execPath, args, { ...process.env, KAFKA_BOOTSTRAP_SERVERS: bootstrap, ...(registry === undefined ? {} : { SCHEMA_REGISTRY_URL: registry }) });
      return result(JSON.parse(time.stdout.trim().split('\n').at(-1) ?? '{}') as Measured, time);
    }
    case 'kcat': {
      const compression = scenario.compression === undefined ? [] : ['-z', scenario.compression];
      // murmur2_random is Java's keyed partitioner, so kcat spreads the keys as the others do; -Z sends an empty value as a tombstone.
      const time = await timed('kcat', ['-P', '-b', bootstrap, '-t', topic, '-K', '\t', '-Z', ...compression, '-X', 'enable.idempotence=true', '-X', 'acks=all', '-X', `linger.ms=${LINGER_MS}`, '-X', 'partitioner=murmur2_random', '-l', files.lines]);
      const records = await countLines(files.lines);
      return result({ rows: records, records, bytes: (await fileSize(files.lines)) - 2 * records, seconds: time.wall }, time);
    }
    case 'java': {
      const records = await countLines(files.payloads);
      const libs = join(defaultCacheDir(), `kafka-${KAFKA_VERSION}`, 'libs', '*');
      const props = ['bootstrap.servers=' + bootstrap, 'acks=all', 'enable.idempotence=true', `linger.ms=${LINGER_MS}`, ...(scenario.compression === undefined ? [] : [`compression.type=${scenario.compression}`])];
      const time = await timed('java', ['-Xmx512m', '-cp', libs, 'org.apache.kafka.tools.ProducerPerformance', '--topic', topic, '--num-records', String(records), '--throughput', '-1', '--payload-file', files.payloads, '--producer-props', ...props]);
      // The last line: "N records sent, R records/sec (M MB/sec), …".
      const summary = time.stdout.trim().split('\n').reverse().find((line) => /records sent/.test(line)) ?? '';
      const rate = Number(/([\d.]+) records\/sec/.exec(summary)?.[1] ?? Number.NaN);
      const bytes = (await fileSize(files.payloads)) - records;
      return result({ rows: records, records, bytes, seconds: records / rate }, time);
    }
  }
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/** Scenario 5: BENCH_LATENCY_RATE rows/s (10,000) for BENCH_LATENCY_SECONDS (60), continuous trigger. */
async function latencyScenario(bootstrap: string): Promise<void> {
  const rate = Number(process.env.BENCH_LATENCY_RATE ?? 10_000);
  const seconds = Number(process.env.BENCH_LATENCY_SECONDS ?? 60);
  const topic = `bench-5-latency-${Date.now()}`;
  await createTopic([bootstrap], topic, { partitions: PARTITIONS });
  const time = await timed(process.execPath, [...SPILLWAY_NODE_FLAGS, fileURLToPath(import.meta.url), 'child', 'latency', '', topic, String(seconds), String(rate)], { ...process.env, KAFKA_BOOTSTRAP_SERVERS: bootstrap });
  const latency = JSON.parse(time.stdout.trim().split('\n').at(-1) ?? '{}') as Latency;
  console.log(`\nscenario 5-latency: continuous trigger, ${rate} rows/s for ${seconds} s, JSON values; latency from a row entering the table to its record acknowledged`);
  console.log(`${'rows'.padStart(9)} ${'rows/s'.padStart(8)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'max ms'.padStart(7)} ${'peak RSS'.padStart(9)} ${'CPU s'.padStart(6)}`);
  console.log(
    `${String(latency.rows).padStart(9)} ${String(Math.round(latency.rows / latency.seconds)).padStart(8)} ${latency.p50.toFixed(1).padStart(7)} ${latency.p99.toFixed(1).padStart(7)} ${latency.max.toFixed(1).padStart(7)} ${`${Math.round(time.rssMiB)} MiB`.padStart(9)} ${time.cpu.toFixed(1).padStart(6)}`,
  );
}

/** Scenario 6: the SQL path, INSERT INTO a Kafka table from datagen, `rows` rows. */
async function sqlScenario(rows: number, repeat: number, bootstrap: string): Promise<void> {
  const results: { rate: number; mb: number; rss: number; cpu: number; records: number }[] = [];
  for (let round = 0; round < repeat; round++) {
    const topic = `bench-6-sql-${Date.now()}`;
    await createTopic([bootstrap], topic, { partitions: PARTITIONS });
    const time = await timed(process.execPath, [...SPILLWAY_NODE_FLAGS, fileURLToPath(import.meta.url), 'child', 'sql', '', topic, String(rows)], { ...process.env, KAFKA_BOOTSTRAP_SERVERS: bootstrap });
    const measured = JSON.parse(time.stdout.trim().split('\n').at(-1) ?? '{}') as Measured;
    results.push({ rate: measured.rows / measured.seconds, mb: measured.bytes / 1024 / 1024 / measured.seconds, rss: time.rssMiB, cpu: time.cpu, records: measured.records });
  }
  console.log(`\nscenario 6-sql: INSERT INTO a Kafka table (raw keys, JSON values) SELECT * FROM a datagen table, ${rows} rows, through runSql`);
  console.log(`${'subject'.padEnd(14)} ${'rows/s'.padStart(10)} ${'MB/s'.padStart(7)} ${'peak RSS'.padStart(9)} ${'CPU s'.padStart(6)} ${'records'.padStart(9)}`);
  console.log(
    `${'sql'.padEnd(14)} ${String(Math.round(median(results.map((r) => r.rate)))).padStart(10)} ${median(results.map((r) => r.mb)).toFixed(1).padStart(7)} ${`${Math.round(Math.max(...results.map((r) => r.rss)))} MiB`.padStart(9)} ${median(results.map((r) => r.cpu)).toFixed(1).padStart(6)} ${String(results[0]?.records ?? 0).padStart(9)}   runs: ${results.map((r) => Math.round(r.rate)).join(', ')}`,
  );
}

/**
 * Scenario 6-rest: `spillway serve` fed by HTTP ingress (bench/rest-ingress.ts), JSON and CSV
 * bodies, beside scenario 1's `spillway` (the API path) and kcat on the same rows, in the same run.
 */
async function restScenario(rows: number, repeat: number, bootstrap: string, dir: string): Promise<void> {
  const scenario = SCENARIOS.find((candidate) => candidate.name === '1-json') as Scenario;
  const files = await writeRecordFiles(scenario, rows, dir, undefined);
  const formats: Record<string, IngressFormat> = { 'spillway-rest': 'json', 'spillway-rest-csv': 'csv' };
  const only = process.env.BENCH_SUBJECTS?.split(',');
  const subjects = ['spillway-rest', 'spillway-rest-csv', 'spillway', 'kcat'].filter((subject) => only === undefined || only.includes(subject));
  const bodies = new Map(Object.entries(formats).filter(([subject]) => subjects.includes(subject)).map(([subject, format]) => [subject, ingressBodies(format, rows, files.payloads)]));
  const runs = new Map<string, { rate: number; mb: number; rss: number; cpu: number; records: number; kept?: string }[]>(subjects.map((subject) => [subject, []]));
  for (let round = 0; round < repeat; round++) {
    for (const subject of round % 2 === 0 ? subjects : [...subjects].reverse()) {
      const format = formats[subject];
      if (format === undefined) {
        const result = await measure(subject as 'spillway' | 'kcat', scenario, rows, files, bootstrap, undefined);
        runs.get(subject)?.push({ rate: result.rowsPerSecond, mb: result.megabytesPerSecond, rss: result.peakRssMiB, cpu: result.cpuSeconds, records: result.records });
        continue;
      }
      const topic = `bench-6-rest-${format}-${Date.now()}`;
      await createTopic([bootstrap], topic, { partitions: PARTITIONS });
      const measured = await restIngressRun(format, rows, bodies.get(subject) ?? [], topic, bootstrap, SPILLWAY_NODE_FLAGS);
      const kept = `${measured.kept.bodies} bodies, ${(measured.kept.bytes / 1024 / 1024).toFixed(0)} MiB kept in SQLite`;
      runs.get(subject)?.push({ rate: measured.rows / measured.seconds, mb: measured.bytes / 1024 / 1024 / measured.seconds, rss: measured.rssMiB, cpu: measured.cpuSeconds, records: measured.records, kept });
    }
  }
  const bodyRows = Number(process.env.BENCH_REST_BODY_ROWS ?? 10_000);
  const inFlight = Number(process.env.BENCH_REST_IN_FLIGHT ?? 4);
  console.log(`\nscenario 6-rest: spillway serve, POST /v0/pipelines/{name}/ingress/{table} of ${rows} rows, ${bodyRows} rows per body, ${inFlight} in flight, into a JSON output connector (no message key); figures of the service process`);
  console.log(`${'subject'.padEnd(18)} ${'rows/s'.padStart(10)} ${'MB/s'.padStart(7)} ${'peak RSS'.padStart(9)} ${'CPU s'.padStart(6)} ${'records'.padStart(9)}`);
  const summary = new Map<string, number>();
  for (const subject of subjects) {
    const results = runs.get(subject) ?? [];
    const rate = median(results.map((r) => r.rate));
    summary.set(subject, rate);
    const all = results.map((r) => Math.round(r.rate)).join(', ');
    const kept = results[0]?.kept === undefined ? '' : `   (${results[0].kept})`;
    console.log(
      `${subject.padEnd(18)} ${String(Math.round(rate)).padStart(10)} ${median(results.map((r) => r.mb)).toFixed(1).padStart(7)} ${`${Math.round(Math.max(...results.map((r) => r.rss)))} MiB`.padStart(9)} ${median(results.map((r) => r.cpu)).toFixed(1).padStart(6)} ${String(results[0]?.records ?? 0).padStart(9)}   runs: ${all}${kept}`,
    );
  }
  const ratios = [
    ['spillway-rest', 'spillway'],
    ['spillway-rest', 'kcat'],
    ['spillway-rest-csv', 'spillway'],
    ['spillway-rest-csv', 'spillway-rest'],
  ].filter(([ours, peer]) => summary.has(ours as string) && summary.has(peer as string));
  console.log(ratios.map(([ours, peer]) => `${ours}/${peer} = ${((summary.get(ours as string) as number) / (summary.get(peer as string) as number)).toFixed(2)}x`).join('   '));
}

async function parent(): Promise<void> {
  const quick = process.env.BENCH_QUICK === '1';
  const rows = Number(process.env.BENCH_ROWS ?? (quick ? 200_000 : 1_000_000));
  const repeat = Number(process.env.BENCH_REPEAT ?? (quick ? 1 : 2));
  const chosen = process.env.BENCH_SCENARIOS?.split(',') ?? (quick ? ['1-json'] : [...SCENARIOS.map((scenario) => scenario.name), ...OTHER_SCENARIOS]);
  const others = OTHER_SCENARIOS.filter((name) => chosen.includes(name));
  const scenarios = chosen
    .filter((name) => !(OTHER_SCENARIOS as readonly string[]).includes(name))
    .map((name) => {
      const scenario = SCENARIOS.find((candidate) => candidate.name === name);
      if (scenario === undefined) throw new Error(`no scenario "${name}"; the scenarios are ${[...SCENARIOS.map((s) => s.name), ...OTHER_SCENARIOS].join(', ')}`);
      return scenario;
    });
  const only = process.env.BENCH_SUBJECTS?.split(',');
  if (scenarios.some((scenario) => scenario.peers.includes('kcat')) && (only === undefined || only.includes('kcat'))) await requireKcat();
  const bootstrap = process.env.KAFKA_BOOTSTRAP_SERVERS ?? (await startBroker()).bootstrapServers ?? '';
  let registry = process.env.SCHEMA_REGISTRY_URL;
  const ownRegistry = registry === undefined && scenarios.some((scenario) => scenario.value === 'avro') ? await startRegistry() : undefined;
  registry ??= ownRegistry?.url;
  const dir = join(tmpdir(), `spillway-bench-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const cpu = cpus();
  console.log(`Spillway benchmark suite — ${rows} rows per scenario, ${repeat} run(s) each (median shown), ${PARTITIONS} partitions, acks=all, idempotent, linger.ms=${LINGER_MS}`);
  console.log(`environment: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}, Kafka broker ${KAFKA_VERSION} at ${bootstrap}`);
  console.log(`Spillway's children: node ${SPILLWAY_NODE_FLAGS.length === 0 ? "(Node's defaults)" : SPILLWAY_NODE_FLAGS.join(' ')}`);
  let brokerWarm = process.env.BENCH_WARMUP === '0';
  try {
    for (const scenario of scenarios) {
      const files = await writeRecordFiles(scenario, rows, dir, registry);
      if (!brokerWarm) {
        // A broker just started is slow until its JIT has compiled its hot paths: whichever subject
        // ran first measured at half its rate, and after one run of the raw writer the next
        // subject still at two thirds. Runs of the raw writer, not counted, warm it until two in a
        // row are within 15% of each other (at most WARMUP_RUNS).
        let last = 0;
        for (let run = 0; run < WARMUP_RUNS; run++) {
          const rate = (await measure('raw', scenario, rows, files, bootstrap, registry)).rowsPerSecond;
          if (Math.abs(rate - last) <= 0.15 * rate) break;
          last = rate;
        }
        brokerWarm = true;
      }
      // Exactly-once needs the transactional Kafka writer, so its scenario has no `sink` run.
      const extras: Extra[] = [scenario.exactlyOnce === true ? 'at-least-once' : 'sink', ...(process.env.BENCH_BEFORE === undefined ? [] : ['before' as const])];
      const subjects: Result['subject'][] = (['spillway', ...scenario.peers, ...extras] as Result['subject'][]).filter(
        (subject) => only === undefined || only.includes(subject),
      );
      const runs = new Map<Result['subject'], Result[]>(subjects.map((subject) => [subject, []]));
      for (let round = 0; round < repeat; round++) {
        // Alternate the order so that a slow spell on a shared machine does not favour one subject.
        for (const subject of round % 2 === 0 ? subjects : [...subjects].reverse()) runs.get(subject)?.push(await measure(subject, scenario, rows, files, bootstrap, registry));
      }
      console.log(`\nscenario ${scenario.name}: ${scenario.title}`);
      console.log(`${'subject'.padEnd(14)} ${'rows/s'.padStart(10)} ${'MB/s'.padStart(7)} ${'peak RSS'.padStart(9)} ${'CPU s'.padStart(6)} ${'records'.padStart(9)}`);
      const summary = new Map<Result['subject'], number>();
      for (const subject of subjects) {
        const results = runs.get(subject) ?? [];
        const rate = median(results.map((r) => r.rowsPerSecond));
        summary.set(subject, rate);
        const mb = median(results.map((r) => r.megabytesPerSecond));
        const rss = Math.max(...results.map((r) => r.peakRssMiB));
        const cpuSeconds = median(results.map((r) => r.cpuSeconds));
        const all = results.map((r) => Math.round(r.rowsPerSecond)).join(', ');
        console.log(`${subject.padEnd(14)} ${String(Math.round(rate)).padStart(10)} ${mb.toFixed(1).padStart(7)} ${`${Math.round(rss)} MiB`.padStart(9)} ${cpuSeconds.toFixed(1).padStart(6)} ${String(results[0]?.records ?? 0).padStart(9)}   runs: ${all}`);
      }
      const ours = summary.get('spillway') ?? Number.NaN;
      const compared = subjects.filter((subject) => subject !== 'spillway' && subject !== 'sink');
      console.log(compared.map((peer) => `spillway/${peer} = ${(ours / (summary.get(peer) ?? Number.NaN)).toFixed(2)}x`).join('   '));
    }
    if (others.includes('5-latency')) await latencyScenario(bootstrap);
    if (others.includes('6-sql')) await sqlScenario(rows, repeat, bootstrap);
    if (others.includes('6-rest')) await restScenario(rows, repeat, bootstrap, dir);
    if (PENDING.length > 0) console.log(`\nnot measured here:\n  ${PENDING.join('\n  ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await ownRegistry?.stop();
  }
}

if (process.argv[2] === 'child') {
  const [, , , subject, name, topic, rows, file] = process.argv;
  const scenario = SCENARIOS.find((candidate) => candidate.name === name) as Scenario;
  const bootstrap = process.env.KAFKA_BOOTSTRAP_SERVERS ?? '';
  const measured =
    subject === 'latency'
      ? await latencyChild(topic ?? '', Number(rows), Number(file), bootstrap)
      : subject === 'sql'
        ? await sqlChild(topic ?? '', Number(rows), bootstrap)
        : subject === 'raw'
          ? await rawChild(scenario, topic ?? '', file ?? '', bootstrap)
          : subject === 'kafkajs'
            ? await kafkajsChild(topic ?? '', file ?? '', bootstrap)
            : await spillwayChild(scenario, topic ?? '', Number(rows), bootstrap, process.env.SCHEMA_REGISTRY_URL, subject ?? 'spillway');
  process.stdout.write(`${JSON.stringify(measured)}\n`);
} else {
  await parent();
}
