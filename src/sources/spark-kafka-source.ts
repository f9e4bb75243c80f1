/**
 * Kafka topics as a table in the shape of Spark's Kafka source: one row per record, with the
 * columns Spark gives (`key` and `value` as bytes, `topic`, `partition`, `offset`, `timestamp`,
 * `timestampType`, and `headers` when asked), so a Spark pipeline that reads Kafka and writes
 * Kafka copies records as they are. The Spark dialect (`streamReadKafka`, `readStream()`)
 * translates Spark's option strings into these options; this class does the reading.
 *
 * - Topics are named (`topics`, Spark's `subscribe`), or partitions are assigned (`assign`:
 *   only those partitions' records are rows), or chosen by a regular expression (`topicPattern`,
 *   Spark's `subscribePattern`) that must match the whole name: the cluster's topics are listed
 *   once, when the source starts (internal `__` topics left out), and every match is followed.
 *   Unlike Spark, topics created later are not picked up, and a pattern matching no topic fails
 *   the source. The pattern is a JavaScript RegExp, which agrees with Java's on the common
 *   syntax; Java-only constructs (possessive quantifiers `a*+`, `\p{javaLowerCase}`, inline
 *   flags such as `(?i)`) are not understood.
 * - `startingOffsets`: `latest` (only records written after `ready`), `earliest`, or per topic
 *   and partition an offset, where -2 means earliest and -1 latest. A topic whose partitions are
 *   all -1 is followed from its end; others from their start, leaving out each partition's
 *   records before its offset. As in Spark, a given offset map names every partition: a record
 *   of a partition it does not name fails the table, naming the partition.
 * - `headers` (with `includeHeaders`) is a json column of `[{ "key": …, "value": … }]`, the
 *   value as text (a value that is not UTF-8 fails the table, naming the record), or null for
 *   a record without headers.
 * - `timestampType` is null: the Kafka client binding does not report librdkafka's timestamp
 *   type (Spark's 0 for CreateTime, 1 for LogAppendTime). `timestamp` is the record's own.
 *
 * Backpressure: when a sink downstream is full, fetching pauses until it has room again.
 */
import { ErrorCode, SpillwayError, asSpillwayError } from '../errors.ts';
import { type ReadRecord, type TopicFollower, followTopic, listTopics } from '../kafka/kafka-client.ts';
import { parseConsumerProperties } from '../kafka/kafka-properties.ts';
import { LiveTable } from '../model/live-table.ts';
import { type Row, type Schema, defineSchema } from '../model/schema.ts';
import type { Change } from '../model/table.ts';

/** Per topic, per partition: an offset, or -2 (earliest) or -1 (latest). */
export type PartitionOffsets = Readonly<Record<string, Readonly<Record<string, number>>>>;

export interface SparkKafkaSourceOptions {
  /** Kafka client properties for the connection (`bootstrap.servers`, security), without Spark's `kafka.` prefix. */
  readonly kafkaConfig: Readonly<Record<string, string | number | boolean>>;
  /** Topics to read every partition of (Spark's `subscribe`). */
  readonly topics?: readonly string[];
  /**
   * A regular expression (Spark's `subscribePattern`): every topic of the cluster whose whole name
   * it matches is read, as listed when the source starts.
   */
  readonly topicPattern?: string;
  /** Partitions to read, by topic (Spark's `assign`). */
  readonly assign?: Readonly<Record<string, readonly number[]>>;
  readonly startingOffsets: 'earliest' | 'latest' | PartitionOffsets;
  /** Add the `headers` column (Spark's `includeHeaders`). */
  readonly includeHeaders: boolean;
  /** Only committed transactional records (Kafka's `isolation.level=read_committed`); Spark's default reads uncommitted ones too. */
  readonly readCommitted: boolean;
  /** Names the source in errors (default from the topics). */
  readonly name?: string;
}

/** Spark's Kafka source schema: `headers` only with includeHeaders. */
export function sparkKafkaSchema(includeHeaders: boolean): Schema {
  return defineSchema({
    key: { type: 'bytes', nullable: true },
    value: { type: 'bytes', nullable: true },
    topic: 'string',
    partition: 'int32',
    offset: 'int64',
    timestamp: { type: 'timestamp', unit: 'ms' },
    timestampType: { type: 'int32', nullable: true },
    ...(includeHeaders ? { headers: { type: 'json', nullable: true } } : {}),
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Spark matches the whole topic name with a Java regular expression; JavaScript's RegExp
 * (anchored the same way) agrees on the common syntax: classes, alternation, quantifiers.
 */
function compilePattern(name: string, pattern: string): RegExp {
  try {
    return new RegExp(`^(?:${pattern})$`);
  } catch (error) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `${name}: topic pattern ${JSON.stringify(pattern)} is not a regular expression (${(error as Error).message}); give one such as "events-.*"`,
    );
  }
}

export class SparkKafkaSource extends LiveTable {
  readonly appendOnly = true;
  readonly name: string;
  /** The pattern the topics were chosen by, when they were (`topicPattern`). */
  readonly topicPattern: RegExp | undefined;
  /** Resolves once every topic is followed (with `latest`, records written after this are rows). */
  readonly ready: Promise<void>;
  /** Settles when reading stops: resolves after `close()`, rejects on a failure. */
  readonly done: Promise<void>;
  readonly #followers: TopicFollower[] = [];
  #topics: string[];
  #closed = false;
  readonly #assigned: ReadonlyMap<string, ReadonlySet<number>> | undefined;
  readonly #offsets: PartitionOffsets | undefined;
  readonly #includeHeaders: boolean;
  #nextId = 0;
  #failure: SpillwayError | undefined;
  #waitingForRoom = false;
  #records = 0;

  constructor(options: SparkKafkaSourceOptions) {
    super(sparkKafkaSchema(options.includeHeaders));
    const topics = options.assign === undefined ? [...(options.topics ?? [])] : Object.keys(options.assign);
    const given = options.topicPattern;
    this.name = options.name ?? `kafka-source-${given === undefined ? topics.join(',') : given}`;
    if (given !== undefined && (topics.length > 0 || options.assign !== undefined)) {
      throw new SpillwayError(ErrorCode.InvalidConfig, `${this.name}: give topics by name (topics or assign) or by topicPattern, not both`);
    }
    if (given === undefined && topics.length === 0) {
      throw new SpillwayError(ErrorCode.InvalidConfig, `${this.name}: no topic to read; name topics (subscribe) or partitions (assign), or give a topicPattern (subscribePattern)`);
    }
    this.topicPattern = given === undefined ? undefined : compilePattern(this.name, given);
    if (given !== undefined && typeof options.startingOffsets !== 'string') {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `${this.name}: startingOffsets by partition with a topic pattern is not implemented; use "earliest" or "latest", or name the topics with subscribe`,
      );
    }
    this.#topics = topics;
    this.#includeHeaders = options.includeHeaders;
    this.#assigned = options.assign === undefined ? undefined : new Map(Object.entries(options.assign).map(([topic, partitions]) => [topic, new Set(partitions)]));
    const starting = options.startingOffsets;
    this.#offsets = typeof starting === 'string' ? undefined : starting;
    if (this.#offsets !== undefined) this.#checkOffsets(this.#offsets);
    const { settings: consumer } = parseConsumerProperties(options.kafkaConfig, { source: this.name });
    // Spark's consumer reads uncommitted records unless kafka.isolation.level says otherwise.
    const settings = { ...consumer, readCommitted: options.readCommitted };
    const follow = (): void => {
      for (const topic of this.#topics) {
        const perPartition = this.#offsets?.[topic];
        const startFrom =
          typeof starting === 'string' ? starting : perPartition !== undefined && Object.values(perPartition).every((offset) => offset === -1) ? 'latest' : 'earliest';
        this.#followers.push(
          followTopic({
            connection: settings,
            topic,
            startFrom,
            timeoutMs: settings.requestTimeoutMs,
            onRecords: (records) => this.#apply(records),
          }),
        );
      }
    };
    const pattern = this.topicPattern;
    // With a pattern the topics are known once the cluster has listed them.
    const followed =
      pattern === undefined
        ? (follow(), Promise.resolve())
        : listTopics(settings, settings.requestTimeoutMs).then((names) => {
            this.#topics = names.filter((topic) => pattern.test(topic));
            if (this.#topics.length === 0) {
              throw new SpillwayError(
                ErrorCode.InvalidConfig,
                `${this.name}: no topic of the cluster matches the pattern ${JSON.stringify(given)}; create the topics first (topics created after the source starts are not read)`,
              );
            }
            if (!this.#closed) follow();
          });
    this.ready = followed.then(() => Promise.all(this.#followers.map((follower) => follower.ready))).then(() => undefined);
    this.done = followed.then(() => Promise.all(this.#followers.map((follower) => follower.done))).then(() => undefined);
    this.done.catch((error: unknown) => {
      this.#failure ??= asSpillwayError(error);
      // The table ends with the failure; the other topics' followers stop after it.
      this.end();
      void Promise.allSettled(this.#followers.map((follower) => follower.close()));
    });
  }

  /** The topics followed (with a pattern, the matching ones once `ready`). */
  get topics(): readonly string[] {
    return this.#topics;
  }

  /** Why the table stopped reading, when it did not stop by `close()`. */
  get failure(): SpillwayError | undefined {
    return this.#failure;
  }

  /** Records taken from Kafka. */
  get records(): number {
    return this.#records;
  }

  /** Stops reading and ends the table: sinks on it finish once they have written everything. */
  async close(): Promise<void> {
    this.#closed = true;
    try {
      await Promise.allSettled(this.#followers.map((follower) => follower.close()));
    } finally {
      this.end();
    }
  }

  #checkOffsets(offsets: PartitionOffsets): void {
    for (const [topic, partitions] of Object.entries(offsets)) {
      if (!this.topics.includes(topic)) {
        throw new SpillwayError(
          ErrorCode.InvalidConfig,
          `${this.name}: startingOffsets names topic "${topic}", which is not read; the topics read are: ${this.topics.join(', ')}`,
        );
      }
      const values = Object.entries(partitions);
      for (const [partition, offset] of values) {
        if (!/^\d+$/.test(partition) || !Number.isSafeInteger(offset) || offset < -2) {
          throw new SpillwayError(
            ErrorCode.InvalidConfig,
            `${this.name}: startingOffsets for topic "${topic}" gives partition ${JSON.stringify(partition)} the offset ${JSON.stringify(offset)}; ` +
              'give partitions as numbers and offsets as integers ≥ 0, or -2 for earliest, -1 for latest',
          );
        }
        const assigned = this.#assigned?.get(topic);
        if (assigned !== undefined && !assigned.has(Number(partition))) {
          throw new SpillwayError(ErrorCode.InvalidConfig, `${this.name}: startingOffsets names partition ${partition} of topic "${topic}", which assign does not`);
        }
      }
      const latest = values.filter(([, offset]) => offset === -1).length;
      if (latest > 0 && latest < values.length) {
        throw new SpillwayError(
          ErrorCode.InvalidConfig,
          `${this.name}: startingOffsets for topic "${topic}" mixes -1 (latest) with other offsets, which Spillway cannot start from yet; ` +
            'give -1 to every partition of the topic, or explicit offsets',
        );
      }
    }
    for (const [topic, assigned] of this.#assigned ?? []) {
      const named = offsets[topic];
      const missing = [...assigned].filter((partition) => named?.[String(partition)] === undefined);
      if (missing.length > 0) {
        throw new SpillwayError(
          ErrorCode.InvalidConfig,
          `${this.name}: startingOffsets gives no offset for partition(s) ${missing.join(', ')} of topic "${topic}"; ` +
            'as in Spark, specific offsets name every partition: use -2 for earliest, -1 for latest',
        );
      }
    }
  }

  #where(record: ReadRecord): string {
    return `topic "${record.topic}" partition ${record.partition} offset ${record.offset}`;
  }

  /** Whether the record is one the options ask for; throws for a partition the offsets leave out. */
  #wanted(record: ReadRecord): boolean {
    const assigned = this.#assigned?.get(record.topic);
    if (assigned !== undefined && !assigned.has(record.partition)) return false;
    if (this.#offsets === undefined) return true;
    const start = this.#offsets[record.topic]?.[String(record.partition)];
    if (start === undefined) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `${this.name}: startingOffsets gives no offset for partition ${record.partition} of topic "${record.topic}"; ` +
          'as in Spark, specific offsets name every partition: use -2 for earliest, -1 for latest',
      );
    }
    return start < 0 || record.offset >= BigInt(start);
  }

  #rowOf(record: ReadRecord): Row {
    const row: Record<string, Row[string]> = {
      key: record.key,
      value: record.value,
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      timestamp: record.timestamp * 1_000_000n,
      // Unknown: the Kafka client (@confluentinc/kafka-javascript 1.10) hands over a message's
      // timestamp but not librdkafka's timestamp type, and guessing it from the topic's
      // message.timestamp.type would be wrong for records written before that setting changed.
      timestampType: null,
    };
    if (this.#includeHeaders) {
      row.headers =
        record.headers.length === 0
          ? null
          : record.headers.map(([key, value]) => {
              try {
                return { key, value: utf8.decode(value) };
              } catch {
                throw new SpillwayError(
                  ErrorCode.InvalidValue,
                  `${this.name}: ${this.#where(record)}: header "${key}" is not UTF-8 text, which the headers column carries; leave includeHeaders off for this topic`,
                );
              }
            });
    }
    return row;
  }

  #apply(records: readonly ReadRecord[]): void {
    const changes: Change[] = [];
    let failure: SpillwayError | undefined;
    for (const record of records) {
      this.#records++;
      try {
        if (this.#wanted(record)) changes.push({ kind: 'insert', id: this.#nextId++, row: this.#rowOf(record) });
      } catch (error) {
        failure = asSpillwayError(error, ErrorCode.InvalidValue);
        break;
      }
    }
    this.emit(changes);
    if (failure !== undefined) {
      this.#failure ??= failure;
      throw failure;
    }
    this.#pauseUntilRoom();
  }

  #pauseUntilRoom(): void {
    if (this.#waitingForRoom) return;
    this.#waitingForRoom = true;
    for (const follower of this.#followers) follower.pause();
    void this.whenWritable().then(() => {
      this.#waitingForRoom = false;
      for (const follower of this.#followers) follower.resume();
    });
  }
}
