/**
 * Turns record intents (from the update mode) into records of bytes: key and value from the
 * encoders, and the record's other parts from the table when the spec says so — a topic column
 * that routes each row, a partition column, `partitionBy` columns, a timestamp column, constant
 * headers, header columns, and a headers column (Spark's `headers`). Every column lookup and type
 * check happens once, when the builder is made.
 */
import { ErrorCode, SpillwayError } from '../errors.ts';
import type { Encoder, RowChange, TextBatch } from '../formats/encoder.ts';
import { type Column, type Row, type Schema, formatIsoTimestamp, requireColumns } from '../model/schema.ts';
import type { KafkaHeader } from '../kafka/record-writer.ts';
import type { SinkSpec } from './sink-spec.ts';
import type { RecordIntent } from './update-modes.ts';

/**
 * A record before its partition is chosen (that needs the topic's partition count). The encode
 * stage sets `partition` on this same object and sends it as the record: one object per row.
 */
export interface RecordDraft {
  readonly topic: string;
  /** Chosen by the table (a partition column), else undefined until the partitioner decides. */
  partition: number | undefined;
  /** Null until `writeTexts` for a key or value an encoder gave as text. */
  key: Buffer | null;
  value: Buffer | null;
  /** Hashed to choose the partition instead of the key (`partitionBy`). */
  partitionKey: Buffer | null;
  headers?: readonly KafkaHeader[];
  timestamp?: bigint;
}

type RowPart<T> = (row: Row) => T;

/** Header values as text: what a header reader expects for numbers, dates and strings. */
function headerBytes(column: Column): (value: NonNullable<Row[string]>) => Buffer {
  switch (column.type) {
    case 'bytes':
      return (value) => Buffer.from(value as Uint8Array);
    case 'timestamp':
      return (value) => Buffer.from(formatIsoTimestamp(value as bigint), 'utf8');
    case 'json':
      return (value) => Buffer.from(JSON.stringify(value), 'utf8');
    default:
      return (value) => Buffer.from(String(value as string | number | bigint | boolean), 'utf8');
  }
}

function requireColumnOf(schema: Schema, name: string, option: string, types: readonly Column['type'][], sink: string): Column {
  const [column] = requireColumns(schema, [name], `sink "${sink}" option ${option}`) as [Column];
  if (!types.includes(column.type)) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `sink "${sink}": ${option} names column "${name}" of type ${column.type}; it must be ${types.join(' or ')}`,
    );
  }
  return column;
}

/** Spark's `headers` column: an array of `{ key, value }` (value a string, base64 bytes object, or null), or an object. */
function parseHeadersValue(value: Row[string], column: string): KafkaHeader[] {
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((entry) => {
        if (entry === null || typeof entry !== 'object' || Array.isArray(entry) || typeof entry.key !== 'string') {
          throw new SpillwayError(ErrorCode.EncodeFailed, `headers column "${column}" holds ${JSON.stringify(entry)}; each header must be { "key": string, "value": string }`);
        }
        return [entry.key, entry.value];
      })
    : Object.entries(value as Record<string, unknown>);
  return entries.map(([key, headerValue]) => {
    if (typeof headerValue !== 'string' && headerValue !== null && headerValue !== undefined) {
      throw new SpillwayError(ErrorCode.EncodeFailed, `headers column "${column}": header "${key}" has a ${typeof headerValue} value; header values must be strings`);
    }
    return { key, value: Buffer.from(headerValue ?? '', 'utf8') };
  });
}

export interface RecordBuilderOptions {
  readonly spec: SinkSpec;
  readonly schema: Schema;
  readonly keyEncoder: Encoder;
  readonly valueEncoder: Encoder;
  /** Retract mode with a value format that has no envelope: the change kind goes in this header. */
  readonly changeHeader: string | undefined;
  /** Complete mode: each record says which trigger's snapshot it belongs to (header `trigger`). */
  readonly markTriggers: boolean;
  /**
   * The table updates or deletes rows: a keyless record is partitioned by its row's identity, so
   * every change of one row lands on one partition, in order (a retract reader needs the insert
   * before the delete).
   */
  readonly partitionKeylessByRow: boolean;
}

export class RecordBuilder {
  readonly #keyEncoder: Encoder;
  readonly #valueEncoder: Encoder;
  readonly #defaultTopic: string | undefined;
  readonly #sink: string;
  readonly #topicOf: RowPart<string> | undefined;
  readonly #partitionOf: RowPart<number | undefined> | undefined;
  readonly #partitionKeyOf: RowPart<Buffer> | undefined;
  readonly #timestampOf: RowPart<bigint | undefined> | undefined;
  readonly #headersOf: RowPart<KafkaHeader[]> | undefined;
  readonly #changeHeader: string | undefined;
  readonly #markTriggers: boolean;
  readonly #partitionKeylessByRow: boolean;
  readonly #arrayPartitionKey: Buffer | null;
  readonly #changeHeaderValues = { insert: Buffer.from('insert'), update: Buffer.from('update'), delete: Buffer.from('delete') };

  constructor(options: RecordBuilderOptions) {
    const { spec, schema } = options;
    this.#keyEncoder = options.keyEncoder;
    this.#valueEncoder = options.valueEncoder;
    this.#defaultTopic = spec.topic;
    this.#sink = spec.name;
    this.#changeHeader = options.changeHeader;
    this.#markTriggers = options.markTriggers;
    this.#partitionKeylessByRow = options.partitionKeylessByRow;
    // A message of many rows cannot follow any one row; for a changing table all such messages go
    // to one partition so a reader sees them in order.
    this.#arrayPartitionKey = options.partitionKeylessByRow ? Buffer.from(spec.name, 'utf8') : null;
    if (spec.topicColumn !== undefined) {
      const name = requireColumnOf(schema, spec.topicColumn, 'topicColumn', ['string'], spec.name).name;
      this.#topicOf = (row) => {
        const topic = row[name];
        return typeof topic === 'string' && topic !== '' ? topic : this.#requireDefaultTopic();
      };
    }
    if (spec.partitionColumn !== undefined) {
      const name = requireColumnOf(schema, spec.partitionColumn, 'partitionColumn', ['int32', 'int64'], spec.name).name;
      this.#partitionOf = (row) => {
        const partition = row[name];
        return partition === null || partition === undefined ? undefined : Number(partition);
      };
    }
    if (spec.partitionBy !== undefined && spec.partitionBy.length > 0) {
      const columns = requireColumns(schema, spec.partitionBy, `sink "${spec.name}" option partitionBy`);
      const parts = columns.map((column) => ({ name: column.name, bytes: headerBytes(column) }));
      // The partition key is the columns' text joined by a unit separator: stable, and equal rows hash equally.
      this.#partitionKeyOf = (row) =>
        Buffer.concat(parts.flatMap((part, index) => {
          const value = row[part.name];
          const bytes = value === null || value === undefined ? Buffer.alloc(0) : part.bytes(value);
          return index === 0 ? [bytes] : [Buffer.from([0x1f]), bytes];
        }));
    }
    if (spec.timestampColumn !== undefined) {
      const column = requireColumnOf(schema, spec.timestampColumn, 'timestampColumn', ['timestamp', 'int64'], spec.name);
      const name = column.name;
      const nanos = column.type === 'timestamp';
      this.#timestampOf = (row) => {
        const value = row[name];
        if (value === null || value === undefined) return undefined;
        return nanos ? (value as bigint) / 1_000_000n : (value as bigint);
      };
    }
    this.#headersOf = this.#compileHeaders(spec, schema);
  }

  #compileHeaders(spec: SinkSpec, schema: Schema): RowPart<KafkaHeader[]> | undefined {
    const constants: KafkaHeader[] = Object.entries(spec.headers ?? {}).map(([key, value]) => ({ key, value: Buffer.from(value, 'utf8') }));
    const columns = requireColumns(schema, spec.headerColumns ?? [], `sink "${spec.name}" option headerColumns`).map((column) => ({
      name: column.name,
      bytes: headerBytes(column),
    }));
    const headersColumn =
      spec.headersColumn === undefined ? undefined : requireColumnOf(schema, spec.headersColumn, 'headersColumn', ['json'], spec.name).name;
    if (constants.length === 0 && columns.length === 0 && headersColumn === undefined) return undefined;
    return (row) => {
      const headers: KafkaHeader[] = [...constants];
      for (const column of columns) {
        const value = row[column.name];
        if (value !== null && value !== undefined) headers.push({ key: column.name, value: column.bytes(value) });
      }
      if (headersColumn !== undefined) {
        const value = row[headersColumn];
        if (value !== null && value !== undefined) headers.push(...parseHeadersValue(value, headersColumn));
      }
      return headers;
    };
  }

  /** The row whose key, topic, partition, headers and timestamp an intent uses. */
  static rowOf(intent: RecordIntent): Row {
    return intent.type === 'change' ? intent.change.row : intent.row;
  }

  #requireDefaultTopic(): string {
    if (this.#defaultTopic !== undefined) return this.#defaultTopic;
    throw new SpillwayError(ErrorCode.EncodeFailed, `the topic column is empty and sink "${this.#sink}" has no default topic; fill the column, or set the sink's topic`);
  }

  /**
   * One record for one intent, written by trigger number `trigger`. A key or value its encoder
   * gives as text is added to `texts`, and stays null until `writeTexts(texts)`.
   */
  build(intent: RecordIntent, trigger: number, texts: BatchTexts): RecordDraft {
    const row = RecordBuilder.rowOf(intent);
    const values = this.#valueEncoder;
    let value: Buffer | null = null;
    let valueText: string | null = null;
    let valueRow = -1;
    let changeOp: RowChange['op'] | undefined;
    if (intent.type === 'tombstone') {
      // No value: a tombstone.
    } else if (intent.type === 'change' && values.encodeChange !== undefined) {
      if (values.encodeChangeText !== undefined) valueText = values.encodeChangeText(intent.change);
      else value = values.encodeChange(intent.change);
    } else {
      // A row, or a change whose value is its row (the format has no change envelope).
      if (texts.valueBatch !== undefined) valueRow = texts.nextRow();
      else if (values.encodeText !== undefined) valueText = values.encodeText(row);
      else value = values.encode(row);
      if (intent.type === 'change') changeOp = intent.change.op;
    }
    let key: Buffer | null = null;
    let keyText: string | null = null;
    if (intent.type !== 'change' && intent.key !== undefined) {
      if (typeof intent.key === 'string') keyText = intent.key;
      else key = intent.key;
    } else if (this.#keyEncoder.encodeText !== undefined) keyText = this.#keyEncoder.encodeText(row);
    else key = this.#keyEncoder.encode(row);
    const rowIdentity = key === null && keyText === null && this.#partitionKeylessByRow ? Buffer.from(String(intent.id), 'utf8') : null;
    const draft = this.#draft(row, key, value, changeOp, trigger, rowIdentity);
    if (keyText !== null || valueText !== null || valueRow >= 0) texts.add(draft, keyText, valueText, valueRow);
    return draft;
  }

  /**
   * The values of a batch's rows in one text, when the value encoder writes many rows at once
   * (`encodeTexts`) and every value is a row: the intents are rows and tombstones, or changes of
   * a format without a change envelope (whose value is the changed row; the change is a header).
   * Undefined otherwise, and when a row cannot be encoded: then each is encoded on its own, so the
   * error policy learns which one.
   */
  batchValues(intents: readonly RecordIntent[]): TextBatch | undefined {
    if (this.#valueEncoder.encodeTexts === undefined) return undefined;
    const changesAreRows = this.#valueEncoder.encodeChange === undefined;
    // Made at the batch's size and cut to the rows found (pushing grows it, copying, as it goes).
    const rows = new Array<Row>(intents.length);
    let found = 0;
    for (let i = 0; i < intents.length; i++) {
      const intent = intents[i] as RecordIntent;
      if (intent.type === 'row') rows[found++] = intent.row;
      else if (intent.type === 'change' && changesAreRows) rows[found++] = intent.change.row;
      else if (intent.type !== 'tombstone') return undefined;
    }
    if (found === 0) return undefined;
    rows.length = found;
    try {
      return this.#valueEncoder.encodeTexts(rows);
    } catch {
      return undefined;
    }
  }

  /**
   * Writes the texts of a batch's records as their keys and values: the keys in one buffer and
   * the values in another when they are ASCII (a write of all and a view each, against a
   * Buffer.from each), else each on its own.
   */
  writeTexts(texts: BatchTexts): void {
    const { drafts, keys, values, valueBatch, valueRows, length } = texts;
    const keyBytes = TextRun.joining(keys, length);
    const valueBytes = valueBatch === undefined ? TextRun.joining(values, length) : TextRun.of(valueBatch);
    for (let i = 0; i < length; i++) {
      const draft = drafts[i] as RecordDraft;
      const key = keyBytes.next(keys[i]);
      if (key !== undefined) {
        draft.key = key;
        // The key was not known when the draft was made: it is the partition key unless `partitionBy` chose one.
        if (this.#partitionKeyOf === undefined) draft.partitionKey = key;
      }
      const value = valueBatch === undefined ? valueBytes.next(values[i]) : valueBytes.at(valueRows[i] as number);
      if (value !== undefined) draft.value = value;
    }
  }

  /**
   * Which part of the record a failed build failed on, found by encoding the parts one at a time;
   * called only after a failure, so the hot path pays nothing for it.
   */
  failedPart(intent: RecordIntent): 'key' | 'value' | 'record' {
    const row = RecordBuilder.rowOf(intent);
    try {
      if (intent.type === 'change' && this.#valueEncoder.encodeChange !== undefined) this.#valueEncoder.encodeChange(intent.change);
      else if (intent.type !== 'tombstone') this.#valueEncoder.encode(row);
    } catch {
      return 'value';
    }
    try {
      if (intent.type === 'change' || intent.key === undefined) this.#keyEncoder.encode(row);
    } catch {
      return 'key';
    }
    return 'record';
  }

  /** One record holding many intents (a value format with `arrays`, such as Feldera's `array: true`). */
  buildArray(intents: readonly RecordIntent[], trigger: number): RecordDraft {
    const first = intents[0];
    if (this.#valueEncoder.encodeChanges === undefined || first === undefined) {
      throw new SpillwayError(ErrorCode.Internal, 'buildArray needs a value encoder with arrays and at least one intent');
    }
    const changes = intents.map((intent): RowChange => {
      if (intent.type === 'change') return intent.change;
      return { op: intent.type === 'tombstone' ? 'delete' : 'insert', row: intent.row };
    });
    return this.#draft(RecordBuilder.rowOf(first), null, this.#valueEncoder.encodeChanges(changes), undefined, trigger, this.#arrayPartitionKey);
  }

  #draft(
    row: Row,
    key: Buffer | null,
    value: Buffer | null,
    changeOp: RowChange['op'] | undefined,
    trigger: number,
    rowIdentity: Buffer | null,
  ): RecordDraft {
    let headers = this.#headersOf?.(row);
    if (changeOp !== undefined && this.#changeHeader !== undefined) {
      headers = [...(headers ?? []), { key: this.#changeHeader, value: this.#changeHeaderValues[changeOp] }];
    }
    if (this.#markTriggers) headers = [...(headers ?? []), { key: 'trigger', value: Buffer.from(String(trigger)) }];
    // One object per record, its fields always in this order (one shape for V8), its optional
    // parts set only when present (no spread of temporaries).
    const draft: RecordDraft = {
      topic: this.#topicOf === undefined ? this.#requireDefaultTopic() : this.#topicOf(row),
      partition: this.#partitionOf?.(row),
      key,
      value,
      partitionKey: this.#partitionKeyOf === undefined ? (key ?? rowIdentity) : this.#partitionKeyOf(row),
    };
    if (headers !== undefined && headers.length > 0) draft.headers = headers;
    if (this.#timestampOf !== undefined) {
      const timestamp = this.#timestampOf(row);
      if (timestamp !== undefined) draft.timestamp = timestamp;
    }
    return draft;
  }
}

/**
 * The keys and values a batch's records got as text (undefined: the part is bytes already), or,
 * for values, as rows of one text for the whole batch (`valueBatch`).
 */
export class BatchTexts {
  // Made at the batch's size, not grown a push at a time (growing copies each array twice over).
  readonly drafts: RecordDraft[];
  readonly keys: (string | undefined)[];
  readonly values: (string | undefined)[];
  /** Which row of `valueBatch` each draft's value is (-1: none). */
  readonly valueRows: Int32Array;
  readonly valueBatch: TextBatch | undefined;
  /** Drafts added: the arrays' length once all are. */
  length = 0;
  #rows = 0;

  /** For at most `capacity` records. */
  constructor(capacity: number, valueBatch?: TextBatch) {
    this.drafts = new Array<RecordDraft>(capacity);
    this.keys = new Array<string | undefined>(capacity);
    this.values = new Array<string | undefined>(capacity);
    this.valueRows = new Int32Array(capacity);
    this.valueBatch = valueBatch;
  }

  /** The next row of `valueBatch`: each row intent takes one in turn, whether its record is built or not. */
  nextRow(): number {
    return this.#rows++;
  }

  add(draft: RecordDraft, key: string | null, value: string | null, valueRow: number): void {
    const at = this.length++;
    this.drafts[at] = draft;
    this.keys[at] = key ?? undefined;
    this.values[at] = value ?? undefined;
    this.valueRows[at] = valueRow;
  }
}

/**
 * Texts as bytes: one text written at once, each record's part a view of its bytes when the text
 * is ASCII (a view costs less than a Buffer.from each), else each part encoded on its own. The
 * text is a batch's (`of`) or the parts joined in order (`joining`; strings are appended as
 * ropes, so joining copies nothing).
 */
class TextRun {
  readonly #text: string;
  readonly #bytes: Buffer | undefined;
  readonly #starts: Int32Array | undefined;
  readonly #ends: Int32Array | undefined;
  #at = 0;

  private constructor(text: string, starts?: Int32Array, ends?: Int32Array) {
    this.#text = text;
    this.#bytes = asciiBytes(text);
    this.#starts = starts;
    this.#ends = ends;
  }

  static of(batch: TextBatch): TextRun {
    return new TextRun(batch.text, batch.starts, batch.ends);
  }

  /** The first `length` of `texts`, joined. */
  static joining(texts: readonly (string | undefined)[], length: number): TextRun {
    let joined = '';
    for (let i = 0; i < length; i++) joined += texts[i] ?? '';
    return new TextRun(joined);
  }

  /** The bytes of the next part of a joined run (undefined: the record has none). */
  next(text: string | undefined): Buffer | undefined {
    if (text === undefined) return undefined;
    this.#at += text.length;
    return this.#bytes === undefined ? Buffer.from(text, 'utf8') : this.#bytes.subarray(this.#at - text.length, this.#at);
  }

  /** The bytes of row `row` of a batch's run (-1: the record has none). */
  at(row: number): Buffer | undefined {
    if (row < 0) return undefined;
    const start = (this.#starts as Int32Array)[row] as number;
    const end = (this.#ends as Int32Array)[row] as number;
    return this.#bytes === undefined ? Buffer.from(this.#text.slice(start, end), 'utf8') : this.#bytes.subarray(start, end);
  }
}

/**
 * A text's bytes when it is all ASCII (each character one byte), found by one write: the UTF-8
 * of anything else is longer than the text, so with 4 bytes to spare (the longest character) a
 * write of exactly `text.length` bytes means every character was ASCII.
 */
function asciiBytes(text: string): Buffer | undefined {
  if (text.length === 0) return undefined;
  const bytes = Buffer.allocUnsafe(text.length + 4);
  return bytes.write(text, 0, 'utf8') === text.length ? bytes : undefined;
}
