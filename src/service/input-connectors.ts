/**
 * Input connectors: a Kafka topic or a file feeding a table of a pipeline, as Feldera's
 * `kafka_input` and `file_input` do. Each is built on a source of `src/sources` (a Kafka-topic
 * table, a file table) that yields messages as text, one row per Kafka record value or per line
 * of the file; every message is read into changes exactly as HTTP ingress reads a body (the same
 * parser, so the formats mean the same), and the changes are applied to the table.
 *
 * A message that cannot be read is recorded as the connector's error and left out; the messages
 * after it are read (Feldera's parsers do the same). A source that fails (the broker cannot be
 * reached, the file cannot be read) fails the pipeline.
 */
import { felderaInputConnectorSpec, type InputConnectorSpec } from '../dialects/feldera-input.ts';
import { SpillwayError, asSpillwayError } from '../errors.ts';
import { parseConsumerProperties } from '../kafka/kafka-properties.ts';
import type { Schema } from '../model/schema.ts';
import type { Table } from '../model/table.ts';
import { fromFile } from '../sources/file-table.ts';
import type { InputTable } from '../sources/input-table.ts';
import { kafkaTopicTable } from '../sources/kafka-topic-table.ts';
import { type IngressChange, parseIngress } from './ingress.ts';

/** One column holding a message's text. */
const MESSAGE_SCHEMA: Schema = { columns: [{ name: 'message', type: 'string', nullable: false }] };

/**
 * A file's lines read verbatim as one-column CSV: a field separator and a quote that text formats
 * never hold (C0 control characters, which JSON escapes), so no line is split or unquoted.
 */
const VERBATIM_CSV = { header: false, delimiter: '\u001f', quote: '\u001e' } as const;

/** Checks an input connector body whole, connecting to nothing; returns warnings. */
export function validateInputConnector(name: string, body: unknown): readonly string[] {
  const spec = felderaInputConnectorSpec(name, body);
  if (spec.transport === 'file') return [];
  // The Kafka properties as the reader would take them, checked without connecting.
  try {
    return parseConsumerProperties({ ...spec.kafkaConfig }, { source: `connector "${name}"` }).warnings;
  } catch (error) {
    const spillway = asSpillwayError(error);
    const property = spillway.details.field;
    throw new SpillwayError(spillway.code, spillway.message, {
      cause: spillway,
      details: { ...spillway.details, sink: name, field: property === undefined ? 'config.transport.config' : `config.transport.config.${property.replace(/^kafka\./, '')}` },
    });
  }
}

export interface InputFeedMetrics {
  /** Kafka records or file lines taken. */
  readonly messages: number;
  /** Inserts and deletes applied to the table. */
  readonly changes: number;
  /** Messages that could not be read, left out. */
  readonly errors: number;
}

export interface InputFeedEvents {
  /** Applies changes to the table (checked whole first); rejects when they do not fit it. */
  readonly apply: (changes: readonly IngressChange[]) => Promise<void>;
  /** A message that was left out, with why. */
  readonly onBadMessage: (message: string) => void;
  /** The source failed; nothing more is read. */
  readonly onFailure: (message: string) => void;
}

interface Source {
  readonly table: Table & { readonly failure?: unknown };
  readonly what: string;
  close(): unknown;
}

/** A running input connector. */
export class InputFeed {
  readonly spec: InputConnectorSpec;
  readonly #sources: Source[] = [];
  readonly #table: InputTable;
  readonly #tableName: string;
  readonly #events: InputFeedEvents;
  #messages = 0;
  #changes = 0;
  #errors = 0;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;
  #failed = false;

  constructor(spec: InputConnectorSpec, tableName: string, table: InputTable, events: InputFeedEvents) {
    this.spec = spec;
    this.#table = table;
    this.#tableName = tableName;
    this.#events = events;
    if (spec.transport === 'file') {
      const file = fromFile(spec.path, { format: 'csv', schema: MESSAGE_SCHEMA, csv: VERBATIM_CSV, follow: spec.follow });
      this.#sources.push({ table: file, what: `file ${spec.path}`, close: () => file.close() });
    } else {
      for (const topic of spec.topics) {
        const reader = kafkaTopicTable({
          kafkaConfig: spec.kafkaConfig,
          topic,
          schema: MESSAGE_SCHEMA,
          mode: 'append',
          startFrom: spec.startFrom,
          decode: (value) => ({ message: value.toString('utf8') }),
        });
        this.#sources.push({ table: reader, what: `topic "${topic}"`, close: () => reader.close() });
      }
    }
    for (const source of this.#sources) this.#follow(source);
  }

  get state(): string {
    if (this.#failed) return 'failed';
    return this.#closed ? 'stopped' : this.#sources.every((source) => source.table.ended) ? 'finished' : 'running';
  }

  get metrics(): InputFeedMetrics {
    return { messages: this.#messages, changes: this.#changes, errors: this.#errors };
  }

  #follow(source: Source): void {
    // While the table's sinks are full, the source waits: its gate stays closed until they have room.
    let waiting: Promise<void> | undefined;
    source.table.addGate({
      get open() {
        return waiting === undefined;
      },
      whenOpen: () => waiting ?? Promise.resolve(),
    });
    source.table.subscribe({
      onChanges: (batch) => {
        const messages = batch.filter((change) => change.kind === 'insert').map((change) => change.row.message as string);
        const first = this.#messages + 1;
        this.#messages += messages.length;
        const step = this.#queue.then(() => this.#feed(messages, first, source.what));
        this.#queue = step;
        waiting ??= step.then(() => this.#table.whenWritable()).finally(() => {
          waiting = undefined;
        });
      },
      onEnd: () => {
        const failure = source.table.failure;
        if (failure === undefined || this.#closed) return;
        this.#failed = true;
        this.#events.onFailure(`${source.what}: ${asSpillwayError(failure).message}`);
      },
    });
  }

  async #feed(messages: readonly string[], first: number, what: string): Promise<void> {
    for (const [index, message] of messages.entries()) {
      if (this.#closed) return;
      try {
        const changes = parseIngress(this.#tableName, this.#table.schema, message, this.spec.format);
        await this.#events.apply(changes);
        this.#changes += changes.length;
      } catch (error) {
        this.#errors++;
        this.#events.onBadMessage(`${what}: message ${first + index}: ${asSpillwayError(error).message}`);
      }
    }
  }

  /** Stops reading; what was read is applied first. */
  async close(): Promise<void> {
    await Promise.allSettled(this.#sources.map((source) => Promise.resolve(source.close())));
    await this.#queue;
    this.#closed = true;
  }
}
