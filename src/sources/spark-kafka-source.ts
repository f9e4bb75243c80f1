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
 *
 * Position and resume: a source reading one topic (subscribe to one topic, or assign partitions
 * of one) is replayable. Its position is, per partition, the next offset to read (a partition
 * startingOffsets gives an offset is named from the start); a row's id is its record's
 * `topic/partition@offset`. `resumeFrom(position)` reads the same topic with each partition the
 * position names assigned at its offset, and startingOffsets ignored, as Spark ignores them once a
 * checkpoint exists; a partition it does not name is read from its start, as Spark reads a
 * partition it has no offset for. A query with a checkpoint starts the source the same way from
 * the position the checkpoint holds (`startFromCheckpoint`). Reading several topics, or a
 * pattern's, has no position: a Kafka position holds the offsets of one topic.
 */
import { ErrorCode, SpillwayError, asSpillwayError } from '../errors.ts';
import { type FollowTopicOptions, type ReadRecord, type TopicFollower, followTopic, listTopics } from '../kafka/kafka-client.ts';
import { parseConsumerProperties } from '../kafka/kafka-properties.ts';
import { LiveTable } from '../model/live-table.ts';
import { type KafkaPosition, PositionKind, type SourcePosition } from '../model/position.ts';
import { type Row, type Schema, defineSchema } from '../model/schema.ts';
import type { Change, RowId } from '../model/table.ts';
import { type SourceCapabilities, checkResumePosition } from './source.ts';

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

/** A row's id: its record's place in Kafka, so a resumed source gives every row the id it had before. */
function recordId(record: ReadRecord): string {
  return `${record.topic}/${record.partition}@${record.offset}`;
}

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

/**
 * A source (src/sources/source.ts) by its shape, not declared one: reading several topics it has
 * no position (a Kafka position holds one topic's offsets), which the Source interface requires.
 */
export class SparkKafkaSource extends LiveTable {
  readonly appendOnly = true;
  readonly name: string;
  readonly capabilities: SourceCapabilities;
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
  #failure: SpillwayError | undefined;
  #waitingForRoom = false;
  #records = 0;
  readonly #options: SparkKafkaSourceOptions;
  /** The one topic whose offsets are the position; undefined when several topics (or a pattern's) are read. */
  readonly #positionTopic: string | undefined;
  /** Per partition of that topic, the next offset to read. */
  readonly #nextOffsets = new Map<number, bigint>();
  /** Where a resume starts (resumeFrom, or a query's checkpoint); startingOffsets are then ignored. */
  #resume: KafkaPosition | undefined;
  /** Set by a query with a checkpoint: reads the position the checkpoint holds, before the source reads Kafka. */
  #readCheckpoint: (() => Promise<SourcePosition | undefined>) | undefined;
  /** Whether the source has begun reading, after which a checkpoint can no longer choose where it starts. */
  #begun = false;

  constructor(options: SparkKafkaSourceOptions, resume?: KafkaPosition) {
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
    this.#options = options;
    this.#positionTopic = given === undefined && topics.length === 1 ? topics[0] : undefined;
    this.capabilities =
      this.#positionTopic === undefined
        ? { replayable: false, positionKind: PositionKind.Kafka, reason: this.#whyNoPosition() }
        : { replayable: true, positionKind: PositionKind.Kafka };
    this.#includeHeaders = options.includeHeaders;
    this.#assigned = options.assign === undefined ? undefined : new Map(Object.entries(options.assign).map(([topic, partitions]) => [topic, new Set(partitions)]));
    const starting = options.startingOffsets;
    this.#offsets = typeof starting === 'string' ? undefined : starting;
    if (this.#offsets !== undefined) this.#checkOffsets(this.#offsets);
    if (resume !== undefined) this.#resumeAt(resume);
    else {
      // A partition given an offset is named from the start, so a resume before its first record starts there too.
      const startingAt = this.#positionTopic === undefined ? undefined : this.#offsets?.[this.#positionTopic];
      for (const [partition, offset] of Object.entries(startingAt ?? {})) if (offset >= 0) this.#nextOffsets.set(Number(partition), BigInt(offset));
    }
    const { settings: consumer } = parseConsumerProperties(options.kafkaConfig, { source: this.name });
    // Spark's consumer reads uncommitted records unless kafka.isolation.level says otherwise.
    const settings = { ...consumer, readCommitted: options.readCommitted };
    const startOf = (topic: string): Pick<FollowTopicOptions, 'startFrom' | 'startOffsets'> => {
      // A resume assigns each partition it names at its offset; one it does not name was not read yet.
      if (this.#resume !== undefined) return { startFrom: 'earliest', startOffsets: new Map(this.#nextOffsets) };
      if (typeof starting === 'string') return { startFrom: starting };
      const perPartition = this.#offsets?.[topic];
      return { startFrom: perPartition !== undefined && Object.values(perPartition).every((offset) => offset === -1) ? 'latest' : 'earliest' };
    };
    const follow = (): void => {
      for (const topic of this.#topics) {
        this.#followers.push(
          followTopic({
            connection: settings,
            topic,
            ...startOf(topic),
            timeoutMs: settings.requestTimeoutMs,
            onRecords: (records) => this.#apply(records),
          }),
        );
      }
    };
    const pattern = this.topicPattern;
    const begin = async (): Promise<void> => {
      this.#begun = true;
      const stored = await this.#readCheckpoint?.();
      if (stored !== undefined) this.#resumeFromCheckpoint(stored);
      if (this.#closed) return;
      if (pattern === undefined) {
        follow();
        return;
      }
      // With a pattern the topics are known once the cluster has listed them.
      const names = await listTopics(settings, settings.requestTimeoutMs);
      this.#topics = names.filter((topic) => pattern.test(topic));
      if (this.#topics.length === 0) {
        throw new SpillwayError(
          ErrorCode.InvalidConfig,
          `${this.name}: no topic of the cluster matches the pattern ${JSON.stringify(given)}; create the topics first (topics created after the source starts are not read)`,
        );
      }
      if (!this.#closed) follow();
    };
    // Reading begins once the step that made the source is over, so a Spark query started in that
    // step with a checkpoint can still make it start from the checkpoint's offsets (startFromCheckpoint).
    const followed = Promise.resolve().then(begin);
    this.ready = followed.then(() => Promise.all(this.#followers.map((follower) => follower.ready))).then(() => undefined);
    // A failure to start is also `done`'s and `failure`'s; a `ready` nobody awaits must not crash the process.
    this.ready.catch(() => {});
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

  get description(): string {
    return `Spark Kafka source "${this.name}"`;
  }

  /** Per partition of the topic read, the next offset to read; undefined when several topics are read. */
  override get position(): KafkaPosition | undefined {
    const topic = this.#positionTopic;
    if (topic === undefined) return undefined;
    return {
      kind: PositionKind.Kafka,
      topic,
      offsets: [...this.#nextOffsets].sort(([a], [b]) => a - b).map(([partition, offset]) => ({ partition, offset: String(offset) })),
    };
  }

  /** A row's id is its record's `topic/partition@offset`, emitted by a position whose next offset in that partition is past it. */
  rowEmittedBy(id: RowId, position: SourcePosition): boolean | undefined {
    const topic = this.#positionTopic;
    if (topic === undefined || position.kind !== PositionKind.Kafka || position.topic !== topic || typeof id !== 'string' || !id.startsWith(`${topic}/`)) return undefined;
    const [, partition, offset] = /^(\d+)@(\d+)$/.exec(id.slice(topic.length + 1)) ?? [];
    if (partition === undefined || offset === undefined) return undefined;
    const next = position.offsets.find((entry) => entry.partition === Number(partition))?.offset;
    return next !== undefined && BigInt(offset) < BigInt(next);
  }

  /** Reads the same topic with the same options from `position` on (startingOffsets ignored). */
  resumeFrom(position: SourcePosition): SparkKafkaSource {
    if (this.#positionTopic === undefined) {
      throw new SpillwayError(ErrorCode.InvalidConfig, `${this.name}.resumeFrom(): this source cannot be resumed: ${this.#whyNoPosition()}; read each topic with a source of its own`);
    }
    const resume = checkResumePosition(this.name, PositionKind.Kafka, position);
    if (resume.topic !== this.#positionTopic) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `${this.name}.resumeFrom(): the position is in topic "${resume.topic}", not "${this.#positionTopic}", which this source reads; resume the source that reported it`,
      );
    }
    return new SparkKafkaSource(this.#options, resume);
  }

  /**
   * A Spark query with a checkpoint owns where its source starts, as in Spark: from the offsets
   * the checkpoint holds when `read` gives a position (startingOffsets are then ignored), from
   * startingOffsets on the query's first run. Only before the source reads: in the step it was
   * made in (`stream_write_kafka(stream_read_kafka(…), { checkpoint })`).
   */
  startFromCheckpoint(read: () => Promise<SourcePosition | undefined>): void {
    if (this.#positionTopic === undefined) {
      const hint = 'read one topic in a query with a checkpoint (subscribe to one topic, or assign partitions of one), or leave the checkpoint out';
      throw new SpillwayError(ErrorCode.InvalidConfig, `${this.name}: a checkpoint cannot resume this source: ${this.#whyNoPosition()}; ${hint}`, {
        details: { field: 'checkpointLocation', hint },
      });
    }
    if (this.#readCheckpoint !== undefined) {
      throw new SpillwayError(
        ErrorCode.InvalidState,
        `${this.name}: a query with a checkpoint reads this source already; as in Spark, each query reads with a source of its own: make another with stream_read_kafka or readStream().load()`,
      );
    }
    if (this.#begun) {
      throw new SpillwayError(
        ErrorCode.InvalidState,
        `${this.name}: it reads from startingOffsets already, so the checkpoint can no longer choose where it starts; ` +
          'start the query (stream_write_kafka or writeStream().start()) in the step that made the source (stream_read_kafka or load()), before any await',
      );
    }
    this.#readCheckpoint = read;
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

  #whyNoPosition(): string {
    const read = this.topicPattern === undefined ? `several topics (${this.#topics.map((topic) => `"${topic}"`).join(', ')})` : 'the topics a pattern matches';
    return `it reads ${read}, and a Kafka position holds the offsets of one topic`;
  }

  #resumeAt(resume: KafkaPosition): void {
    this.#resume = resume;
    this.#nextOffsets.clear();
    for (const { partition, offset } of resume.offsets) this.#nextOffsets.set(partition, BigInt(offset));
  }

  /** Starts from the position a checkpoint holds, and tells the listeners (the query's sink) that the source is there. */
  #resumeFromCheckpoint(stored: SourcePosition): void {
    const hint = 'give this query a checkpoint location of its own, or delete this one to start the query over';
    const resume = checkResumePosition(this.name, PositionKind.Kafka, stored);
    if (resume.topic !== this.#positionTopic) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `${this.name}: the checkpoint holds the offsets of topic "${resume.topic}", not of "${this.#positionTopic}", which this source reads; ${hint}`,
        { details: { field: 'checkpointLocation', hint } },
      );
    }
    this.#resumeAt(resume);
    this.emit([], this.position);
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
    // A resume was assigned at its offsets: startingOffsets no longer apply, as in Spark once a checkpoint exists.
    if (this.#offsets === undefined || this.#resume !== undefined) return true;
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
        if (!this.#wanted(record)) continue;
        changes.push({ kind: 'insert', id: recordId(record), row: this.#rowOf(record) });
        if (record.topic === this.#positionTopic) this.#nextOffsets.set(record.partition, record.offset + 1n);
      } catch (error) {
        failure = asSpillwayError(error, ErrorCode.InvalidValue);
        break;
      }
    }
    this.emit(changes, this.position);
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
