/**
 * A Kafka topic as a live table, so Kafka→Kafka pipelines are a source, table operations and a
 * sink. This folder joins the Kafka layer (which sees only records of bytes) to the model (which
 * knows nothing of Kafka): the follower hands over records, this table turns them into rows.
 *
 * - `append`: every record with a value is a new row; a record without one (a tombstone) has
 *   nothing to add and is counted in `metrics.tombstonesIgnored`.
 * - `upsert`: the table keeps one row per key, as a compacted topic does. A record with a value
 *   inserts the row, or updates the row with the same key columns; a tombstone deletes the row
 *   that the same record key last wrote. Key columns come from `key` or the schema's primary key.
 *
 * Values are decoded (`json`, or a function of the value bytes) and checked against the schema;
 * an error names the topic, partition and offset. `json` reads what Spillway's json format
 * writes: integers beyond 2^53 exactly (as bigint), bytes from base64, timestamps from ISO-8601.
 * Under `errorPolicy: 'fail'` (the default) a bad record fails the table, as every source fails:
 * it keeps the rows before the record, records the error in `failure` and ends, so sinks write
 * what they have and then fail naming it; `done` rejects with it. Under `skip` a bad record is
 * counted in `metrics.skipped` and left out.
 *
 * Backpressure: when a sink downstream is full, fetching pauses until it has room again.
 *
 * Position: per partition, the next offset to read (bad and skipped records and tombstones count
 * as read). In append mode a row's id is its record's `partition@offset`. `resumeFrom(position)` follows the topic again
 * with each partition the position names assigned at its offset, so it yields exactly the records
 * after them; a partition the position does not name is read from its start. An upsert table
 * resumed so holds only the rows of the records after the position.
 */
import { z } from 'zod';
import { ErrorCode, SpillwayError, asSpillwayError, zodIssuesError } from '../errors.ts';
import { kafkaPropertyValueSchema, parseConsumerProperties } from '../kafka/kafka-properties.ts';
import { type ReadRecord, type TopicFollower, followTopic } from '../kafka/kafka-client.ts';
import { LiveTable } from '../model/live-table.ts';
import { type KafkaPosition, PositionKind, type SourcePosition } from '../model/position.ts';
import { type Row, type Schema, keyOf, normalizeRow, requireColumns } from '../model/schema.ts';
import type { Change, RowId } from '../model/table.ts';
import { type ResumableSource, checkResumePosition } from './source.ts';

/** Turns a record's value bytes into an object of column values (checked against the schema after). */
export type RecordDecoder = (value: Buffer, record: ReadRecord) => Readonly<Record<string, unknown>>;

export const kafkaTopicTableOptionsSchema = z
  .object({
    /** Kafka client properties by their librdkafka / Java names; `bootstrap.servers` at least. */
    kafkaConfig: z.record(z.string(), kafkaPropertyValueSchema),
    topic: z.string().min(1),
    schema: z.custom<Schema>(
      (value) => typeof value === 'object' && value !== null && Array.isArray((value as { columns?: unknown }).columns),
      'a schema from defineSchema()',
    ),
    mode: z.enum(['append', 'upsert']),
    /** Upsert: the columns that identify a row; the schema's primary key when absent. */
    key: z.array(z.string().min(1)).min(1).readonly().optional(),
    decode: z.union([z.literal('json'), z.custom<RecordDecoder>((value) => typeof value === 'function', 'a function')]).default('json'),
    /** Where to start: the whole topic (`earliest`, the default unless auto.offset.reset says latest) or only new records. */
    startFrom: z.enum(['earliest', 'latest']).optional(),
    errorPolicy: z.enum(['fail', 'skip']).default('fail'),
  })
  .strict();

export type KafkaTopicTableOptions = z.input<typeof kafkaTopicTableOptionsSchema>;

export interface KafkaTopicTableMetrics {
  /** Records taken from the topic. */
  readonly records: number;
  /** Bad records left out under `errorPolicy: 'skip'`. */
  readonly skipped: number;
  /** Tombstones in append mode, and tombstones for keys the table never held. */
  readonly tombstonesIgnored: number;
}

/** JSON with integer literals beyond 2^53 kept exact, as bigint (Spillway's json format writes int64 so). */
function parseJsonExactly(text: string): unknown {
  return JSON.parse(text, (_key: string, value: unknown, context?: { source?: string }) => {
    if (typeof value === 'number' && !Number.isSafeInteger(value) && context?.source !== undefined && /^-?\d+$/.test(context.source)) {
      return BigInt(context.source);
    }
    return value;
  });
}

/** Maps JSON's representations onto the schema's: base64 for bytes, numbers for float64. */
function jsonDecoder(schema: Schema): RecordDecoder {
  const adjust = schema.columns
    .map((column): [string, (value: unknown) => unknown] | undefined => {
      if (column.type === 'bytes') return [column.name, (value) => (typeof value === 'string' ? Buffer.from(value, 'base64') : value)];
      if (column.type === 'float64') return [column.name, (value) => (typeof value === 'bigint' ? Number(value) : value)];
      return undefined;
    })
    .filter((entry) => entry !== undefined);
  return (value) => {
    let parsed: unknown;
    try {
      parsed = parseJsonExactly(value.toString('utf8'));
    } catch (error) {
      throw new SpillwayError(ErrorCode.InvalidValue, `the value is not JSON (${error instanceof Error ? error.message : String(error)})`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new SpillwayError(ErrorCode.InvalidValue, `the value is JSON ${Array.isArray(parsed) ? 'array' : typeof parsed}, not an object of columns`);
    }
    const fields = parsed as Record<string, unknown>;
    for (const [name, convert] of adjust) if (name in fields) fields[name] = convert(fields[name]);
    return fields;
  };
}

function parseOptions(options: unknown): z.output<typeof kafkaTopicTableOptionsSchema> {
  const result = kafkaTopicTableOptionsSchema.safeParse(options);
  if (result.success) return result.data;
  throw zodIssuesError(result.error.issues, { subject: 'kafkaTopicTable()', root: 'options', fieldPrefix: 'option ', layout: 'inline' });
}

/**
 * A topic table's Kafka properties checked as its reader takes them, connecting to nothing (for
 * validating a program before it runs): throws on a property the reader would refuse, and
 * returns the warnings it would give.
 */
export function checkTopicTableProperties(kafkaConfig: Readonly<Record<string, unknown>>, source: string): readonly string[] {
  return parseConsumerProperties(kafkaConfig, { source }).warnings;
}

export class KafkaTopicTable extends LiveTable implements ResumableSource {
  readonly capabilities = { replayable: true, positionKind: PositionKind.Kafka } as const;
  readonly appendOnly: boolean;
  readonly topic: string;
  /** Property warnings (a producer property has no effect here) and connection trouble while retrying. */
  readonly warnings: readonly string[];
  /** Resolves once the table follows the topic (with `latest`, records written after this appear). */
  readonly ready: Promise<void>;
  /** Settles when the table stops following: resolves after `close()`, rejects on a failure. */
  readonly done: Promise<void>;
  readonly #follower: TopicFollower;
  readonly #decode: RecordDecoder;
  readonly #key: readonly string[] | undefined;
  readonly #skipBad: boolean;
  /** Upsert: the row id each record key last wrote, and back, so a tombstone finds its row. */
  readonly #idOfRecordKey = new Map<string, RowId>();
  readonly #recordKeyOfId = new Map<RowId, string>();
  /** Per partition, the next offset to read; records before it (on a resume) are dropped. */
  readonly #nextOffsets = new Map<number, bigint>();
  readonly #given: KafkaTopicTableOptions;
  #failure: SpillwayError | undefined;
  #waitingForRoom = false;
  #records = 0;
  #skipped = 0;
  #tombstonesIgnored = 0;

  constructor(options: KafkaTopicTableOptions, resume?: KafkaPosition) {
    const parsed = parseOptions(options);
    if (parsed.mode === 'append' && parsed.key !== undefined) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `kafkaTopicTable(): topic "${parsed.topic}": key applies to upsert mode, where it identifies the row a record writes; in append mode every record is a new row, so remove key or set mode: 'upsert'`,
      );
    }
    const key = parsed.mode === 'upsert' ? (parsed.key ?? parsed.schema.primaryKey) : undefined;
    if (parsed.mode === 'upsert' && (key === undefined || key.length === 0)) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `kafkaTopicTable(): topic "${parsed.topic}": upsert mode needs the columns that identify a row; pass key: ['id'] or declare a primary key in the schema`,
      );
    }
    if (key !== undefined) requireColumns(parsed.schema, key, `kafkaTopicTable() option key`);
    super(key === undefined ? parsed.schema : { columns: parsed.schema.columns, primaryKey: [...key] });
    this.appendOnly = parsed.mode === 'append';
    this.topic = parsed.topic;
    this.#given = options;
    if (resume !== undefined) {
      for (const { partition, offset } of resume.offsets) this.#nextOffsets.set(partition, BigInt(offset));
    }
    this.#key = key;
    this.#skipBad = parsed.errorPolicy === 'skip';
    this.#decode = parsed.decode === 'json' ? jsonDecoder(parsed.schema) : parsed.decode;
    const { settings, warnings } = parseConsumerProperties(parsed.kafkaConfig, { source: `kafkaTopicTable() topic "${parsed.topic}"` });
    if (parsed.startFrom !== undefined && settings.startFrom !== undefined && parsed.startFrom !== settings.startFrom) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `kafkaTopicTable(): topic "${parsed.topic}": startFrom "${parsed.startFrom}" and auto.offset.reset (${settings.startFrom}) disagree; keep one`,
      );
    }
    this.warnings = warnings;
    this.#follower = followTopic({
      connection: settings,
      topic: parsed.topic,
      // A resume seeks each partition it names to its offset; a partition it does not name was not read yet, so starts at the beginning.
      startFrom: resume === undefined ? (parsed.startFrom ?? settings.startFrom ?? 'earliest') : 'earliest',
      ...(resume === undefined ? {} : { startOffsets: new Map(this.#nextOffsets) }),
      onWarning: (warning) => warnings.push(warning),
      // request.timeout.ms bounds joining and positioning, so an unreachable cluster fails instead of hanging.
      timeoutMs: settings.requestTimeoutMs,
      onRecords: (records) => this.#apply(records),
    });
    this.ready = this.#follower.ready;
    this.done = this.#follower.done;
    this.done.catch((error: unknown) => {
      this.#failure = asSpillwayError(error);
      this.end();
    });
  }

  get description(): string {
    return `Kafka topic "${this.topic}"`;
  }

  override get position(): KafkaPosition {
    return {
      kind: PositionKind.Kafka,
      topic: this.topic,
      offsets: [...this.#nextOffsets].sort(([a], [b]) => a - b).map(([partition, offset]) => ({ partition, offset: String(offset) })),
    };
  }

  /**
   * In append mode a row's id is its record's `partition@offset`, emitted by a position whose
   * next offset in that partition is past it; an upsert table's rows are keys, which it cannot tell.
   */
  rowEmittedBy(id: RowId, position: SourcePosition): boolean | undefined {
    if (!this.appendOnly || position.kind !== PositionKind.Kafka || position.topic !== this.topic || typeof id !== 'string') return undefined;
    const at = id.indexOf('@');
    const partition = Number(id.slice(0, at));
    const next = position.offsets.find((entry) => entry.partition === partition)?.offset;
    return next !== undefined && BigInt(id.slice(at + 1)) < BigInt(next);
  }

  /** Follows the same topic with the same options from `position` on. */
  resumeFrom(position: SourcePosition): KafkaTopicTable {
    const resume = checkResumePosition(`kafkaTopicTable("${this.topic}")`, PositionKind.Kafka, position);
    if (resume.topic !== this.topic) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `kafkaTopicTable("${this.topic}").resumeFrom(): the position is in topic "${resume.topic}", not this one; resume the table that reported it`,
      );
    }
    return new KafkaTopicTable(this.#given, resume);
  }

  /** Why the table stopped following, when it did not stop by `close()`. */
  get failure(): SpillwayError | undefined {
    return this.#failure;
  }

  get metrics(): KafkaTopicTableMetrics {
    return { records: this.#records, skipped: this.#skipped, tombstonesIgnored: this.#tombstonesIgnored };
  }

  /** Stops following the topic and ends the table: sinks on it finish once they have written everything. */
  async close(): Promise<void> {
    try {
      await this.#follower.close();
    } finally {
      this.end();
    }
  }

  #where(record: ReadRecord): string {
    return `topic "${record.topic}" partition ${record.partition} offset ${record.offset}`;
  }

  #rowOf(record: ReadRecord, value: Buffer): Row {
    let decoded: Readonly<Record<string, unknown>>;
    try {
      decoded = this.#decode(value, record);
    } catch (error) {
      const cause = asSpillwayError(error, ErrorCode.InvalidValue);
      throw new SpillwayError(cause.code, `${this.#where(record)}: ${cause.message}`, { cause: error });
    }
    return normalizeRow(this.schema, decoded, this.#where(record));
  }

  /** Turns one fetch's records into one change batch; a bad record ends the batch (fail) or is skipped. */
  #apply(records: readonly ReadRecord[]): void {
    const changes: Change[] = [];
    // Rows as this batch leaves them, so several records for one key in a batch chain correctly.
    const pending = new Map<RowId, Row | null>();
    const current = (id: RowId): Row | undefined => {
      const staged = pending.get(id);
      return staged === undefined ? this.row(id) : (staged ?? undefined);
    };
    let failure: SpillwayError | undefined;
    for (const record of records) {
      const next = this.#nextOffsets.get(record.partition);
      if (next !== undefined && record.offset < next) continue;
      this.#nextOffsets.set(record.partition, record.offset + 1n);
      this.#records++;
      try {
        for (const change of this.#changesFor(record, current)) {
          changes.push(change);
          pending.set(change.id, change.kind === 'delete' ? null : change.row);
        }
      } catch (error) {
        if (this.#skipBad) {
          this.#skipped++;
          continue;
        }
        failure = asSpillwayError(error, ErrorCode.InvalidValue);
        break;
      }
    }
    this.emit(changes, this.position);
    if (failure !== undefined) throw failure;
    this.#pauseUntilRoom();
  }

  /** Stops fetching while a sink downstream is full; `whenWritable` resolves at once when none is. */
  #pauseUntilRoom(): void {
    if (this.#waitingForRoom) return;
    this.#waitingForRoom = true;
    this.#follower.pause();
    void this.whenWritable().then(() => {
      this.#waitingForRoom = false;
      this.#follower.resume();
    });
  }

  #changesFor(record: ReadRecord, current: (id: RowId) => Row | undefined): Change[] {
    if (this.#key === undefined) {
      if (record.value === null) {
        this.#tombstonesIgnored++;
        return [];
      }
      // The record's own place in the topic, so a replay gives every row the id it had before,
      // however the partitions' fetches interleave.
      return [{ kind: 'insert', id: `${record.partition}@${record.offset}`, row: this.#rowOf(record, record.value) }];
    }
    if (record.key === null) {
      throw new SpillwayError(
        ErrorCode.InvalidValue,
        `${this.#where(record)}: the record has no key, so upsert mode cannot tell which row it ${record.value === null ? 'deletes' : 'writes'}`,
      );
    }
    const recordKey = record.key.toString('base64');
    if (record.value === null) {
      const id = this.#idOfRecordKey.get(recordKey);
      const before = id === undefined ? undefined : current(id);
      if (id === undefined || before === undefined) {
        this.#tombstonesIgnored++;
        return [];
      }
      this.#forget(recordKey, id);
      return [{ kind: 'delete', id, row: before }];
    }
    const row = this.#rowOf(record, record.value);
    const id = keyOf(row, this.#key);
    const changes: Change[] = [];
    // A record key holds one row, as in a compacted topic: if it held a row with other key
    // columns, that row is gone now.
    const previousId = this.#idOfRecordKey.get(recordKey);
    if (previousId !== undefined && previousId !== id) {
      const replaced = current(previousId);
      this.#forget(recordKey, previousId);
      if (replaced !== undefined) changes.push({ kind: 'delete', id: previousId, row: replaced });
    }
    // Another record key that wrote this row last no longer names it.
    const previousKey = this.#recordKeyOfId.get(id);
    if (previousKey !== undefined && previousKey !== recordKey) this.#idOfRecordKey.delete(previousKey);
    this.#idOfRecordKey.set(recordKey, id);
    this.#recordKeyOfId.set(id, recordKey);
    const before = current(id);
    changes.push(before === undefined ? { kind: 'insert', id, row } : { kind: 'update', id, before, row });
    return changes;
  }

  #forget(recordKey: string, id: RowId): void {
    this.#idOfRecordKey.delete(recordKey);
    if (this.#recordKeyOfId.get(id) === recordKey) this.#recordKeyOfId.delete(id);
  }
}

/**
 * Follows a Kafka topic as a live table.
 * @example kafkaTopicTable({ kafkaConfig: { 'bootstrap.servers': 'localhost:9092' }, topic: 'orders',
 *   schema: defineSchema({ id: 'int64', qty: 'int32' }), mode: 'upsert', key: ['id'] })
 */
export function kafkaTopicTable(options: KafkaTopicTableOptions): KafkaTopicTable {
  return new KafkaTopicTable(options);
}
