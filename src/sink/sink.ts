/**
 * The sink runtime: it follows a table's changelog and writes each change as Kafka records.
 *
 * Lifecycle (an explicit state machine; any other transition is a bug and throws):
 *   created ─► starting ─► running ─► stopping ─► stopped
 *      └──────────┴───────────┴──────────┴──────► failed
 * `starting` connects and learns the topic's partitions; `running` writes batches as changes
 * arrive; `stopping` writes what is queued and waits for every acknowledgement.
 *
 * Records for one key always go to one partition and are sent in change order, one batch at a
 * time, so a reader sees each key's changes in the order the table made them.
 */
import { ErrorCode, SpillwayError, asSpillwayError } from '../errors.ts';
import type { Encoder } from '../formats/encoder.ts';
import { createEncoder } from '../formats/key-value-spec.ts';
import { lastByOf } from '../model/live-table.ts';
import type { Row } from '../model/schema.ts';
import type { Change, ChangeBatch, Subscription, Table } from '../model/table.ts';
import { parseKafkaProperties } from '../kafka/kafka-properties.ts';
import { type Partitioner, createPartitioner } from '../kafka/partitioners.ts';
import type { ProducerSettings } from '../kafka/producer-settings.ts';
import type { KafkaRecord, RecordWriter } from '../kafka/record-writer.ts';
import { type SinkSpec, parseSinkSpec } from './sink-spec.ts';

export const SinkState = {
  Created: 'created',
  Starting: 'starting',
  Running: 'running',
  Stopping: 'stopping',
  Stopped: 'stopped',
  Failed: 'failed',
} as const;
export type SinkState = (typeof SinkState)[keyof typeof SinkState];

const transitions: Readonly<Record<SinkState, readonly SinkState[]>> = {
  created: ['starting', 'failed'],
  starting: ['running', 'stopping', 'failed'],
  running: ['stopping', 'failed'],
  stopping: ['stopped', 'failed'],
  stopped: [],
  failed: [],
};

export interface SinkMetrics {
  /** Table changes taken from the changelog. */
  readonly rows: number;
  /** Records the broker acknowledged. */
  readonly records: number;
  /** Bytes of keys and values acknowledged. */
  readonly bytes: number;
  /** Rows skipped under the `skip` error policy. */
  readonly errors: number;
  /** Changes waiting to be written. */
  readonly queued: number;
}

export interface SinkHandle {
  readonly name: string;
  readonly topic: string;
  readonly state: SinkState;
  readonly metrics: SinkMetrics;
  /** Property warnings (for example consumer-only properties that have no effect). */
  readonly warnings: readonly string[];
  /** Settles when the sink has stopped: resolves after a clean stop or the table's end, rejects on failure. */
  readonly done: Promise<void>;
  /** Writes what is queued, waits for every acknowledgement, and closes the connection. */
  stop(): Promise<void>;
}

export interface SinkDependencies {
  /** Builds the writer from the validated settings; the Kafka client adapter by default. */
  readonly createWriter: (settings: ProducerSettings) => RecordWriter;
  /** Told of a failure as it happens (the `done` promise rejects as well). */
  readonly onError?: (error: SpillwayError) => void;
}

interface Outgoing {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

class Sink implements SinkHandle {
  readonly name: string;
  readonly topic: string;
  readonly warnings: readonly string[];
  readonly done: Promise<void>;
  readonly #spec: SinkSpec;
  readonly #settings: ProducerSettings;
  readonly #table: Table;
  readonly #keyEncoder: Encoder;
  readonly #valueEncoder: Encoder;
  readonly #partitioner: Partitioner;
  readonly #writer: RecordWriter;
  readonly #onError: ((error: SpillwayError) => void) | undefined;
  #state: SinkState = SinkState.Created;
  #subscription: Subscription | undefined;
  #queue: Change[] = [];
  #queueHead = 0;
  #partitions = 0;
  #rowsSeen = 0;
  #records = 0;
  #bytes = 0;
  #errors = 0;
  #tableEnded = false;
  #wake: (() => void) | undefined;
  #resolveDone!: () => void;
  #rejectDone!: (error: SpillwayError) => void;
  #failure: SpillwayError | undefined;

  constructor(table: Table, spec: SinkSpec, settings: ProducerSettings, warnings: string[], deps: SinkDependencies) {
    this.name = spec.name;
    this.topic = spec.topic;
    this.warnings = warnings;
    this.#spec = spec;
    this.#settings = settings;
    this.#keyEncoder = createEncoder(spec.key, table.schema, 'key');
    this.#valueEncoder = createEncoder(spec.value, table.schema, 'value');
    this.#table = spec.lastByKeyColumns ? lastByKey(table, this.#keyEncoder, spec.name) : table;
    if (!this.#table.appendOnly && this.#keyEncoder.capabilities.ignored) {
      throw new SpillwayError(
        ErrorCode.IncompatibleMode,
        `sink "${spec.name}": the table updates and deletes rows, but the key is IGNORE, so a removal could not be ` +
          'written as a tombstone; give a key spec over the table key (and lastByKeyColumns for the last row per key)',
      );
    }
    this.#partitioner = createPartitioner(spec.partitioner);
    this.#writer = deps.createWriter(settings);
    this.#onError = deps.onError;
    this.done = new Promise<void>((resolve, reject) => {
      this.#resolveDone = resolve;
      this.#rejectDone = reject;
    });
    // Failures are delivered through `done` and `stop()`; an unobserved `done` must not crash the process.
    this.done.catch(() => {});
  }

  get state(): SinkState {
    return this.#state;
  }

  get metrics(): SinkMetrics {
    return {
      rows: this.#rowsSeen,
      records: this.#records,
      bytes: this.#bytes,
      errors: this.#errors,
      queued: this.#queue.length - this.#queueHead,
    };
  }

  #transition(next: SinkState): void {
    if (!transitions[this.#state].includes(next)) {
      throw new SpillwayError(ErrorCode.InvalidState, `sink "${this.name}" cannot go from ${this.#state} to ${next}`);
    }
    this.#state = next;
  }

  /** Subscribes at once (so no change is missed), then connects and writes in the background. */
  start(): void {
    this.#transition(SinkState.Starting);
    if (this.#spec.snapshot) {
      for (const [id, row] of this.#table.rows()) this.#queue.push({ kind: 'insert', id, row });
    }
    this.#subscription = this.#table.subscribe({
      onChanges: (batch) => this.#enqueue(batch),
      onEnd: () => {
        this.#tableEnded = true;
        this.#wake?.();
      },
    });
    if (this.#table.ended) this.#tableEnded = true;
    void this.#run();
  }

  #enqueue(batch: ChangeBatch): void {
    if (this.#state === SinkState.Stopped || this.#state === SinkState.Failed) return;
    for (const change of batch) this.#queue.push(change);
    this.#wake?.();
  }

  async #run(): Promise<void> {
    try {
      const topic = await this.#writer.describeTopic(this.topic);
      this.#partitions = topic.partitions;
      if (this.#state === SinkState.Starting) this.#transition(SinkState.Running);
      for (;;) {
        if (this.#queue.length === this.#queueHead) {
          if (this.#state === SinkState.Stopping || this.#tableEnded) break;
          await new Promise<void>((resolve) => (this.#wake = resolve));
          this.#wake = undefined;
          continue;
        }
        // Linger: let a batch fill for a moment unless it is already full or the sink is stopping.
        if (this.#settings.lingerMs > 0 && this.#state === SinkState.Running && !this.#tableEnded && this.#queued() < this.#settings.batchNumMessages) {
          await new Promise((resolve) => setTimeout(resolve, this.#settings.lingerMs));
        }
        await this.#writeBatch();
      }
      await this.#finish();
    } catch (error) {
      await this.#fail(asSpillwayError(error));
    }
  }

  #queued(): number {
    return this.#queue.length - this.#queueHead;
  }

  async #writeBatch(): Promise<void> {
    const records: KafkaRecord[] = [];
    let batchBytes = 0;
    const end = Math.min(this.#queue.length, this.#queueHead + this.#settings.batchNumMessages);
    let taken = this.#queueHead;
    while (taken < end && batchBytes < this.#settings.batchSize) {
      const change = this.#queue[taken] as Change;
      taken++;
      for (const outgoing of this.#recordsFor(change)) {
        const size = (outgoing.key?.length ?? 0) + (outgoing.value?.length ?? 0);
        if (size > this.#settings.maxMessageBytes) {
          this.#reject(
            change,
            new SpillwayError(
              ErrorCode.EncodeFailed,
              `a record of ${size} bytes exceeds message.max.bytes (${this.#settings.maxMessageBytes}); ` +
                'raise message.max.bytes (and the topic\'s max.message.bytes) or write smaller rows',
            ),
          );
          continue;
        }
        batchBytes += size;
        records.push({
          topic: this.topic,
          partition: this.#partitioner.partition(outgoing.key, outgoing.value?.length ?? 0, this.#partitions, 0),
          key: outgoing.key,
          value: outgoing.value,
        });
      }
    }
    const rows = taken - this.#queueHead;
    this.#queueHead = taken;
    // Drop the consumed prefix now and then, so the queue does not hold written changes.
    if (this.#queueHead > 65_536 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
    this.#rowsSeen += rows;
    await this.#writer.write(records);
    this.#records += records.length;
    this.#bytes += batchBytes;
  }

  /** The records one change becomes; a key change or a removal tombstones the old key. */
  #recordsFor(change: Change): Outgoing[] {
    try {
      switch (change.kind) {
        case 'insert':
          return [this.#encode(change.row)];
        case 'update': {
          const next = this.#encode(change.row);
          if (this.#keyEncoder.capabilities.ignored) return [next];
          const oldKey = this.#keyEncoder.encode(change.before);
          return oldKey !== null && next.key !== null && !oldKey.equals(next.key)
            ? [{ key: oldKey, value: null }, next]
            : [next];
        }
        case 'delete':
          return [{ key: this.#keyEncoder.encode(change.row), value: null }];
      }
    } catch (error) {
      this.#reject(change, asSpillwayError(error, ErrorCode.EncodeFailed));
      return [];
    }
  }

  #encode(row: Row): Outgoing {
    return { key: this.#keyEncoder.encode(row), value: this.#valueEncoder.encode(row) };
  }

  /** Applies the error policy to a change that cannot be written. */
  #reject(change: Change, error: SpillwayError): void {
    if (this.#spec.errorPolicy === 'skip') {
      this.#errors++;
      return;
    }
    throw new SpillwayError(
      error.code,
      `sink "${this.name}": row ${String(change.id)} (${change.kind}) cannot be written: ${error.message}`,
      { cause: error },
    );
  }

  async #finish(): Promise<void> {
    this.#subscription?.unsubscribe();
    if (this.#state !== SinkState.Stopping) this.#transition(SinkState.Stopping);
    await this.#writer.close();
    this.#transition(SinkState.Stopped);
    this.#resolveDone();
  }

  async #fail(error: SpillwayError): Promise<void> {
    if (this.#state === SinkState.Failed || this.#state === SinkState.Stopped) return;
    this.#subscription?.unsubscribe();
    this.#failure = error;
    this.#transition(SinkState.Failed);
    this.#queue = [];
    this.#queueHead = 0;
    await this.#writer.close().catch(() => {});
    this.#onError?.(error);
    this.#rejectDone(error);
  }

  async stop(): Promise<void> {
    if (this.#state === SinkState.Starting || this.#state === SinkState.Running) {
      this.#transition(SinkState.Stopping);
      this.#subscription?.unsubscribe();
      this.#wake?.();
    }
    await this.done.catch(() => {});
    if (this.#failure !== undefined) throw this.#failure;
  }
}

/** Deephaven's last_by_key_columns: the last row per key of the key spec's columns. */
function lastByKey(table: Table, keyEncoder: Encoder, sinkName: string): Table {
  if (keyEncoder.capabilities.ignored) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `sink "${sinkName}": lastByKeyColumns needs a key spec (simpleSpec or jsonSpec), not KeyValueSpec.IGNORE`,
    );
  }
  return lastByOf(table, keyEncoder.capabilities.columns);
}

/**
 * Validates everything (spec, properties, columns) before anything connects, then starts the sink.
 * The caller's objects are never mutated.
 */
export function startSink(table: Table, specInput: unknown, deps: SinkDependencies): SinkHandle {
  const spec = parseSinkSpec(specInput);
  if (spec.delivery === 'exactly-once') {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `sink "${spec.name}": delivery "exactly-once" is not available in this version; use "at-least-once" (the default)`,
    );
  }
  const { settings, warnings } = parseKafkaProperties(spec.kafka, { sink: spec.name, guarantee: spec.delivery });
  const sink = new Sink(table, spec, settings, warnings, deps);
  sink.start();
  return sink;
}
