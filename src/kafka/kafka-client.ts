/**
 * The one file that knows the Kafka client library (@platformatic/kafka). Everything else talks
 * to Kafka through `RecordWriter` and the few functions here, so the client can be replaced by
 * changing this file alone.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import {
  Admin,
  Base,
  Consumer,
  FetchIsolationLevels,
  MessagesStreamModes,
  Producer,
  type MessageToProduce,
  type SASLMechanismValue,
} from '@platformatic/kafka';
import { ErrorCode, SpillwayError } from '../errors.ts';
import type { ProducerSettings } from './producer-settings.ts';
import type { KafkaRecord, RecordWriter, TopicDescription } from './record-writer.ts';

/** What a client needs to reach the cluster: the connection part of the producer settings. */
export type ConnectionSettings = Pick<
  ProducerSettings,
  'bootstrapServers' | 'clientId' | 'connectTimeoutMs' | 'requestTimeoutMs' | 'sasl' | 'tls' | 'securityProtocol'
>;

function readPemOrPath(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value.includes('-----BEGIN') ? value : readFileSync(value, 'utf8');
}

function connectionOptions(settings: ConnectionSettings) {
  const usesTls = settings.securityProtocol === 'ssl' || settings.securityProtocol === 'sasl_ssl';
  const tls: TlsOptions | undefined = usesTls
    ? {
        ca: readPemOrPath(settings.tls?.ca),
        cert: readPemOrPath(settings.tls?.cert),
        key: readPemOrPath(settings.tls?.key),
        passphrase: settings.tls?.keyPassword,
        rejectUnauthorized: settings.tls?.rejectUnauthorized ?? true,
        ...(settings.tls?.verifyHostname === false ? { checkServerIdentity: () => undefined } : {}),
      }
    : undefined;
  return {
    clientId: settings.clientId,
    bootstrapBrokers: [...settings.bootstrapServers],
    connectTimeout: settings.connectTimeoutMs,
    requestTimeout: settings.requestTimeoutMs,
    ...(tls === undefined ? {} : { tls }),
    ...(settings.sasl === undefined
      ? {}
      : {
          sasl: {
            mechanism: settings.sasl.mechanism as SASLMechanismValue,
            username: settings.sasl.username,
            password: settings.sasl.password,
          },
        }),
  };
}

function unreachable(bootstrapServers: readonly string[], timeoutMs: number, cause: unknown): SpillwayError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new SpillwayError(
    ErrorCode.BrokerUnreachable,
    `no Kafka broker answered within ${timeoutMs} ms; tried ${bootstrapServers.join(', ')} (${detail}). ` +
      'Check bootstrap.servers, that the broker runs (`spillway broker status`), and the network.',
    { cause },
  );
}

/** Races a client call against a deadline, so an unreachable cluster fails instead of hanging. */
async function withDeadline<T>(
  work: Promise<T>,
  timeoutMs: number,
  bootstrapServers: readonly string[],
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(unreachable(bootstrapServers, timeoutMs, new Error('timed out'))), timeoutMs);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export interface ClusterDescription {
  readonly clusterId: string;
  readonly brokers: readonly string[];
}

/** Asks the cluster for its metadata; fails within `timeoutMs` naming the addresses tried. */
export async function describeCluster(
  bootstrapServers: readonly string[],
  timeoutMs: number,
): Promise<ClusterDescription> {
  const client = new Base({
    clientId: 'spillway-probe',
    bootstrapBrokers: [...bootstrapServers],
    connectTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retries: 0,
  });
  try {
    const metadata = await withDeadline(client.metadata({ topics: [] }), timeoutMs, bootstrapServers).catch(
      (error: unknown) => {
        throw error instanceof SpillwayError ? error : unreachable(bootstrapServers, timeoutMs, error);
      },
    );
    return {
      clusterId: metadata.id,
      brokers: [...metadata.brokers.values()].map((broker) => `${broker.host}:${broker.port}`),
    };
  } finally {
    await client.close().catch(() => {});
  }
}

type Message = MessageToProduce<Buffer, Buffer, Buffer, Buffer>;

function toMessage(record: KafkaRecord, now: bigint): Message {
  // Every record carries its timestamp, as the Java producer's CreateTime does.
  const message: Message = { topic: record.topic, partition: record.partition, timestamp: record.timestamp ?? now };
  if (record.key !== null) message.key = record.key;
  if (record.value !== null) message.value = record.value;
  if (record.headers !== undefined && record.headers.length > 0) {
    message.headers = new Map(record.headers.map((header) => [Buffer.from(header.key), header.value]));
  }
  return message;
}

/**
 * The client encodes a record's timestamp as a delta from its batch's first timestamp, and its
 * zig-zag step is only correct for deltas within ±2^31 ms (about 24 days). Records whose
 * timestamps lie further apart on one partition go in separate sends, in order, so every
 * timestamp lands exactly as given.
 */
const MAX_TIMESTAMP_DELTA = 2n ** 31n - 1n;

export function chunkByTimestampSpan<T extends { topic: string; partition?: number; timestamp?: bigint }>(
  messages: readonly T[],
): T[][] {
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let firstByPartition = new Map<string, bigint>();
  for (const message of messages) {
    const partitionKey = `${message.topic}\u0000${String(message.partition)}`;
    const timestamp = message.timestamp ?? 0n;
    const first = firstByPartition.get(partitionKey);
    if (first === undefined) {
      firstByPartition.set(partitionKey, timestamp);
    } else {
      const delta = timestamp - first;
      if (delta > MAX_TIMESTAMP_DELTA || -delta > MAX_TIMESTAMP_DELTA) {
        chunks.push(chunk);
        chunk = [];
        firstByPartition = new Map([[partitionKey, timestamp]]);
      }
    }
    chunk.push(message);
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

class PlatformaticRecordWriter implements RecordWriter {
  readonly #settings: ProducerSettings;
  readonly #producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  #connected = false;

  constructor(settings: ProducerSettings) {
    this.#settings = settings;
    this.#producer = new Producer({
      ...connectionOptions(settings),
      idempotent: settings.idempotent,
      acks: settings.acks,
      retries: settings.retries,
      retryDelay: settings.retryBackoffMs,
      metadataMaxAge: settings.metadataMaxAgeMs,
      maxInflights: settings.maxInFlight,
      ...(settings.compression === 'none' ? {} : { compression: settings.compression }),
      ...(settings.transactionalId === undefined ? {} : { transactionalId: settings.transactionalId }),
    });
  }

  async #ensureConnected(): Promise<void> {
    if (this.#connected) return;
    // Fail fast with the addresses tried when nothing answers, instead of retrying forever.
    await withDeadline(
      this.#producer.metadata({ topics: [] }),
      this.#settings.deliveryTimeoutMs,
      this.#settings.bootstrapServers,
    ).catch((error: unknown) => {
      throw error instanceof SpillwayError
        ? error
        : unreachable(this.#settings.bootstrapServers, this.#settings.deliveryTimeoutMs, error);
    });
    this.#connected = true;
  }

  async describeTopic(topic: string): Promise<TopicDescription> {
    await this.#ensureConnected();
    const metadata = await this.#producer.metadata({ topics: [topic], autocreateTopics: true, forceUpdate: true });
    const described = metadata.topics.get(topic);
    if (described === undefined) {
      throw new SpillwayError(
        ErrorCode.DeliveryFailed,
        `topic "${topic}" does not exist and the broker did not create it; create it first (auto.create.topics.enable is off)`,
      );
    }
    return { name: topic, partitions: described.partitionsCount };
  }

  async write(records: readonly KafkaRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.#ensureConnected();
    const now = BigInt(Date.now());
    const messages = records.map((record) => toMessage(record, now));
    try {
      for (const chunk of chunkByTimestampSpan(messages)) {
        await withDeadline(
          this.#producer.send({ messages: chunk }),
          this.#settings.deliveryTimeoutMs,
          this.#settings.bootstrapServers,
        );
      }
    } catch (error) {
      if (error instanceof SpillwayError) throw error;
      throw new SpillwayError(
        ErrorCode.DeliveryFailed,
        `Kafka did not accept ${records.length} record(s) for ${[...new Set(records.map((r) => r.topic))].join(', ')}: ` +
          `${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }

  async close(): Promise<void> {
    await this.#producer.close(true);
  }
}

/** A writer backed by a real Kafka producer with the given settings. Nothing connects until used. */
export function createKafkaWriter(settings: ProducerSettings): RecordWriter {
  return new PlatformaticRecordWriter(settings);
}

export interface CreateTopicOptions {
  readonly partitions?: number;
  readonly replicationFactor?: number;
  readonly config?: Readonly<Record<string, string>>;
}

/** Creates a topic (for tests, the demo and benchmarks); an existing topic is left as it is. */
export async function createTopic(
  bootstrapServers: readonly string[],
  topic: string,
  options: CreateTopicOptions = {},
): Promise<void> {
  const admin = new Admin({ clientId: 'spillway-admin', bootstrapBrokers: [...bootstrapServers] });
  try {
    await admin.createTopics({
      topics: [topic],
      partitions: options.partitions ?? 1,
      replicas: options.replicationFactor ?? 1,
      configs: Object.entries(options.config ?? {}).map(([name, value]) => ({ name, value })),
    });
  } catch (error) {
    if (!(error instanceof Error) || !/already exists/i.test(JSON.stringify(error, Object.getOwnPropertyNames(error)))) {
      throw error;
    }
  } finally {
    await admin.close();
  }
}

export interface ReadRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly [string, Buffer][];
  readonly timestamp: bigint;
}

export interface ReadTopicOptions {
  /** Stop after this many records. */
  readonly maxRecords: number;
  /** Stop after this long even if fewer records arrived. */
  readonly timeoutMs: number;
  /** Only committed transactional records (default true). */
  readonly readCommitted?: boolean;
}

function toReadRecord(message: {
  topic: string;
  partition: number;
  offset: bigint;
  key?: Buffer | null;
  value?: Buffer | null;
  headerEntries: [Buffer, Buffer][];
  timestamp: bigint;
}): ReadRecord {
  return {
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    key: message.key ?? null,
    value: message.value ?? null,
    headers: message.headerEntries.map(([key, value]) => [key.toString('utf8'), value]),
    timestamp: message.timestamp,
  };
}

/** Reads a topic from its beginning; used by the demo, the tests and Kafka-to-Kafka pipelines. */
export async function readTopic(
  bootstrapServers: readonly string[],
  topic: string,
  options: ReadTopicOptions,
): Promise<ReadRecord[]> {
  const consumer = new Consumer<Buffer, Buffer, Buffer, Buffer>({
    clientId: 'spillway-reader',
    groupId: `spillway-reader-${randomUUID()}`,
    bootstrapBrokers: [...bootstrapServers],
    autocommit: false,
    maxWaitTime: 200,
    isolationLevel:
      options.readCommitted === false ? FetchIsolationLevels.READ_UNCOMMITTED : FetchIsolationLevels.READ_COMMITTED,
  });
  const records: ReadRecord[] = [];
  try {
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST });
    const timer = setTimeout(() => void stream.close(), options.timeoutMs);
    try {
      for await (const message of stream) {
        records.push(toReadRecord(message));
        if (records.length >= options.maxRecords) break;
      }
    } finally {
      clearTimeout(timer);
      await stream.close().catch(() => {});
    }
  } finally {
    await consumer.close(true).catch(() => {});
  }
  return records;
}

export interface FollowTopicOptions {
  readonly connection: ConnectionSettings;
  readonly topic: string;
  /** `earliest`: every record the topic holds, then new ones; `latest`: only records written after `ready`. */
  readonly startFrom: 'earliest' | 'latest';
  /** Only committed transactional records (default true). */
  readonly readCommitted?: boolean;
  /** How long joining and positioning may take before the follower fails (default 30 s). */
  readonly timeoutMs?: number;
  /**
   * Receives the records as they arrive, in offset order within each partition, a fetch at a
   * time. If it throws, following stops and `done` rejects with that error.
   */
  readonly onRecords: (records: readonly ReadRecord[]) => void;
}

export interface TopicFollower {
  /** Resolves once the follower knows where it starts: with `latest`, records written after this are seen. */
  readonly ready: Promise<void>;
  /** Settles when following stops: resolves after `close()`, rejects on a failure. */
  readonly done: Promise<void>;
  /** Stops fetching (backpressure) until `resume()`; records already received are still delivered. */
  pause(): void;
  resume(): void;
  /** Stops following (records already received are delivered first) and closes the connections. */
  close(): Promise<void>;
}

/**
 * Follows a topic: reads it from the beginning or the end and keeps delivering new records until
 * closed. Each follower is a consumer in a group of its own, so it sees every partition and
 * commits nothing. Records are bytes; what they mean is for the caller to decide.
 */
export function followTopic(options: FollowTopicOptions): TopicFollower {
  const servers = options.connection.bootstrapServers;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const consumer = new Consumer<Buffer, Buffer, Buffer, Buffer>({
    ...connectionOptions(options.connection),
    groupId: `spillway-follow-${randomUUID()}`,
    autocommit: false,
    maxWaitTime: 200,
    isolationLevel:
      options.readCommitted === false ? FetchIsolationLevels.READ_UNCOMMITTED : FetchIsolationLevels.READ_COMMITTED,
  });
  type Stream = Awaited<ReturnType<typeof consumer.consume>>;
  let stream: Stream | undefined;
  let pending: ReadRecord[] = [];
  let flushScheduled = false;
  let stopped = false;
  let paused = false;
  let closing: Promise<void> | undefined;
  let resolveDone!: () => void;
  let rejectDone!: (error: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  // A failure is reported through `done`; one nobody awaits must not crash the process.
  done.catch(() => {});

  const shutdown = async (): Promise<void> => {
    await stream?.close().catch(() => {});
    await consumer.close(true).catch(() => {});
  };
  const fail = (error: unknown): void => {
    if (stopped) return;
    stopped = true;
    pending = [];
    const failure =
      error instanceof SpillwayError
        ? error
        : new SpillwayError(
            ErrorCode.Internal,
            `following topic "${options.topic}" on ${servers.join(', ')} failed: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          );
    closing = shutdown().then(() => rejectDone(failure));
  };
  const flush = (): void => {
    flushScheduled = false;
    if (pending.length === 0 || stopped) return;
    const batch = pending;
    pending = [];
    try {
      options.onRecords(batch);
    } catch (error) {
      fail(error);
    }
  };

  const ready = (async () => {
    const started = await withDeadline(
      consumer.consume({
        topics: [options.topic],
        mode: options.startFrom === 'latest' ? MessagesStreamModes.LATEST : MessagesStreamModes.EARLIEST,
      }),
      timeoutMs,
      servers,
    );
    stream = started;
    // The start offsets are listed after the stream exists; until then `latest` has no position.
    const positioned = started.offsetsToFetch.size > 0 ? Promise.resolve() : new Promise<void>((resolve) => started.once('offsets', () => resolve()));
    started.on('data', (message) => {
      if (stopped) return;
      pending.push(toReadRecord(message));
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    });
    started.on('error', (error) => fail(error));
    if (paused) started.pause();
    if (stopped) {
      await started.close().catch(() => {});
      return;
    }
    await withDeadline(positioned, timeoutMs, servers);
  })();
  ready.catch((error: unknown) => fail(error));

  return {
    ready,
    done,
    pause() {
      paused = true;
      stream?.pause();
    },
    resume() {
      paused = false;
      if (!stopped) stream?.resume();
    },
    close() {
      if (closing !== undefined) return closing.then(() => done);
      flush();
      stopped = true;
      closing = shutdown().then(() => resolveDone());
      return closing.then(() => done);
    },
  };
}
