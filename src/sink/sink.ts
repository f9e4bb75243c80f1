/**
 * The sink runtime: it follows a table's changelog and writes each change as Kafka records.
 *
 * Lifecycle (an explicit state machine; any other transition is a bug and throws):
 *   created ─► starting ─► running ─► stopping ─► stopped
 *      └──────────┴───────────┴──────────┴──────► failed
 * `starting` prepares the encoders (a schema registry, say), connects and learns the topic's
 * partitions; `running` writes at each trigger; `stopping` writes what is queued and waits for
 * every acknowledgement.
 *
 * The sink is three stages, each knowing nothing of the others' choices:
 * - the trigger loop (here): at each trigger (every batch of changes when continuous, every
 *   interval for micro-batches, once for `once`) the queued changes go through the update mode;
 *   it tracks the source position the written changes reach, and after a restart skips what the
 *   recovered position covers;
 * - the encode stage (encode-stage.ts): record intents become records, with the error policy;
 * - delivery (delivery.ts): at-least-once or transactional, ending each epoch at a position.
 * Records for one key always go to one partition and are handed over in change order, so a
 * reader sees each key's changes in the order the table made them.
 */
import { ErrorCode, SpillwayError, asSpillwayError } from '../errors.ts';
import type { Encoder } from '../formats/encoder.ts';
import { type SourcePosition, describePosition, positionAtOrBefore } from '../model/position.ts';
import type { Change, ChangeBatch, RowId, Subscription, Table } from '../model/table.ts';
import { sourceFailure } from '../model/table.ts';
import type { ProducerSettings } from '../kafka/producer-settings.ts';
import type { RecordWriter, TopicLog, WriterOptions } from '../kafka/record-writer.ts';
import { isSource, sourcesOf } from '../sources/source.ts';
import { CheckpointLocation, checkpointTopic } from './checkpoint-location.ts';
import { AcknowledgedDelivery, type Delivery, TransactionalDelivery, isTransactionalWriter } from './delivery.ts';
import { EncodeStage } from './encode-stage.ts';
import { DEFAULT_EPOCH_MS, EpochClock, type SinkProgress } from './epoch-clock.ts';
import { type SinkPlan, planSink } from './plan.ts';
import { QueueGate } from './queue-gate.ts';
import type { SinkSpec, Trigger } from './sink-spec.ts';
import type { UpdateMode, UpdateModeName } from './update-modes.ts';


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
  /** Updates and deletes dropped by append mode with `dropRetractions`. */
  readonly dropped: number;
  /** Triggers that have written (every batch when continuous). */
  readonly triggers: number;
  /** Kafka transactions committed (exactly-once: one per epoch). */
  readonly transactions: number;
}

export interface SinkHandle {
  readonly name: string;
  /** The topic written to (rows may choose others through a topic column). */
  readonly topic: string | undefined;
  /** The update mode in force (chosen, or the default for the table). */
  readonly mode: UpdateModeName;
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
  readonly createWriter: WriterFactory;
  /** Reaches the progress topic of an exactly-once sink; the Kafka client adapter by default. */
  readonly createTopicLog?: TopicLogFactory;
  /** Told of a failure as it happens (the `done` promise rejects as well). */
  readonly onError?: (error: SpillwayError) => void;
  /** Told at the end of each epoch of a continuous trigger with an epoch (`{ continuous: '5 seconds' }`). */
  readonly onProgress?: (progress: SinkProgress) => void;
  /** Told of each warning as it happens (it is in the handle's `warnings` as well). */
  readonly onWarning?: (warning: string) => void;
}

/** Builds a run's writer from the plan's settings; the sink hears the writer's warnings through `options`. */
export type WriterFactory = (settings: ProducerSettings, options: WriterOptions) => RecordWriter;

/** Reaches the cluster of the plan's settings for the sink's progress topic. */
export type TopicLogFactory = (settings: ProducerSettings) => TopicLog;

/** Writes kept in flight: encoding the next batch overlaps the acknowledgement of earlier ones. */
const MAX_WRITES_IN_FLIGHT = 4;
/** Batches an exactly-once sink holds while an epoch commits. */
const HELD_BATCHES = 10;


/** Where the changes a sink has queued reach a new source position. */
interface PositionMark {
  /** Changes enqueued (counted from the sink's start) once the source reached `position`. */
  readonly upTo: number;
  readonly position: SourcePosition;
}

export interface RunOptions {
  /** Reaches the progress topic of an exactly-once sink (required for exactly-once). */
  readonly createTopicLog?: TopicLogFactory;
  /** Told of a failure as it happens (the `done` promise rejects as well). */
  readonly onError?: (error: SpillwayError) => void;
  /** Told at the end of each epoch of a continuous trigger with an epoch (`{ continuous: '5 seconds' }`). */
  readonly onProgress?: (progress: SinkProgress) => void;
  /** Told of each warning as it happens (it is in the handle's `warnings` as well). */
  readonly onWarning?: (warning: string) => void;
}

class Sink implements SinkHandle {
  readonly name: string;
  readonly topic: string | undefined;
  readonly mode: UpdateModeName;
  readonly warnings: readonly string[];
  readonly done: Promise<void>;
  readonly #spec: SinkSpec;
  readonly #trigger: Trigger;
  readonly #settings: ProducerSettings;
  readonly #table: Table;
  readonly #keyEncoder: Encoder;
  readonly #valueEncoder: Encoder;
  readonly #updateMode: UpdateMode;
  readonly #encoder: EncodeStage;
  readonly #writer: RecordWriter;
  readonly #createTopicLog: TopicLogFactory | undefined;
  #delivery: Delivery | undefined;
  readonly #onError: ((error: SpillwayError) => void) | undefined;
  readonly #onProgress: ((progress: SinkProgress) => void) | undefined;
  readonly #onWarning: ((warning: string) => void) | undefined;
  readonly #warnings: string[];
  readonly #gate: QueueGate;
  #releaseGate: (() => void) | undefined;
  #state: SinkState = SinkState.Created;
  #subscription: Subscription | undefined;
  #queue: Change[] = [];
  #queueHead = 0;
  /** Changes ever enqueued and taken, and where the source was as they were: the taken changes' position is known. */
  #enqueued = 0;
  #takenCount = 0;
  #marks: PositionMark[] = [];
  #markHead = 0;
  #takenPosition: SourcePosition | undefined;
  /** After a restart: the committed position whose changes the replaying source gives again, to be skipped. */
  #skipping: { readonly committed: SourcePosition; readonly emittedBy: ((id: RowId) => boolean) | undefined } | undefined;
  #recovering = true;
  #rowsSeen = 0;
  #records = 0;
  #bytes = 0;
  #triggers = 0;
  #tableEnded = false;
  /** The last epoch's commit and report, while the next epoch is written (exactly-once). */
  #epochEnding: Promise<void> = Promise.resolve();
  #wake: (() => void) | undefined;
  #resolveDone!: () => void;
  #rejectDone!: (error: SpillwayError) => void;
  #failure: SpillwayError | undefined;

  constructor(plan: SinkPlan, writer: RecordWriter | WriterFactory, options: RunOptions) {
    const spec = plan.spec;
    this.name = spec.name;
    this.topic = spec.topic;
    this.#warnings = [...plan.warnings];
    this.warnings = this.#warnings;
    this.#spec = spec;
    this.#trigger = spec.trigger;
    this.#settings = plan.settings;
    this.#keyEncoder = plan.keyEncoder;
    this.#valueEncoder = plan.valueEncoder;
    this.#table = plan.table;
    this.mode = plan.mode;
    this.#updateMode = plan.newUpdateMode();
    this.#encoder = new EncodeStage({
      spec,
      builder: plan.builder,
      arrays: plan.valueEncoder.capabilities.arrays,
      maxMessageBytes: plan.settings.maxMessageBytes,
      partitioner: plan.newPartitioner(),
      describeTopic: (topic) => this.#writer.describeTopic(topic),
    });
    this.#gate = new QueueGate(plan.settings.maxQueuedChanges);
    // Connection trouble while the writer retries is reported as it happens, not only at the end.
    this.#writer = typeof writer === 'function' ? writer(plan.settings, { onWarning: (warning) => this.#warn(warning) }) : writer;
    this.#createTopicLog = options.createTopicLog;
    this.#onWarning = options.onWarning;
    this.#onError = options.onError;
    this.#onProgress = options.onProgress;
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
      errors: this.#encoder.errors,
      queued: this.#queued(),
      dropped: this.#updateMode.dropped,
      triggers: this.#triggers,
      transactions: this.#delivery?.transactions ?? 0,
    };
  }

  #transition(next: SinkState): void {
    if (!transitions[this.#state].includes(next)) {
      throw new SpillwayError(ErrorCode.InvalidState, `sink "${this.name}" cannot go from ${this.#state} to ${next}`);
    }
    this.#state = next;
  }

  #warn(warning: string): void {
    this.#warnings.push(warning);
    this.#onWarning?.(warning);
  }

  /** Subscribes at once (so no change is missed), then recovers, connects and writes in the background. */
  start(): void {
    this.#transition(SinkState.Starting);
    if (this.#spec.snapshot) {
      const snapshot: Change[] = [];
      for (const [id, row] of this.#table.rows()) snapshot.push({ kind: 'insert', id, row });
      this.#enqueue(snapshot, this.#table.position);
    } else if (this.#table.position !== undefined) {
      this.#enqueue([], this.#table.position);
    }
    this.#subscription = this.#table.subscribe({
      onChanges: (batch, position) => this.#enqueue(batch, position),
      onPosition: (position) => this.#enqueue([], position),
      onEnd: () => {
        this.#tableEnded = true;
        this.#wake?.();
      },
    });
    if (this.#table.ended) this.#tableEnded = true;
    this.#releaseGate = this.#table.addGate(this.#gate);
    this.#gate.update(this.#queued());
    void this.#run();
  }

  #enqueue(batch: ChangeBatch, position: SourcePosition | undefined): void {
    if (this.#state === SinkState.Stopped || this.#state === SinkState.Failed) return;
    const changes = this.#skipping === undefined ? batch : this.#skipCommitted(batch, position);
    for (const change of changes) this.#queue.push(change);
    this.#enqueued += changes.length;
    if (position !== undefined) this.#marks.push({ upTo: this.#enqueued, position });
    this.#gate.update(this.#queued());
    if (this.#recovering) return;
    if (this.#trigger.kind === 'continuous' || this.#bufferFull()) this.#wake?.();
  }

  /**
   * After a restart the program rebuilds its table and the source replays from its start: what
   * is at or before the committed position was written already and is skipped. Within the batch
   * that crosses it, a source that can tell which rows it had emitted by then (file, time, static
   * and append-mode Kafka tables through row-wise operators) keeps exactly the rest.
   */
  #skipCommitted(batch: ChangeBatch, position: SourcePosition | undefined): ChangeBatch {
    const skipping = this.#skipping;
    if (skipping === undefined) return batch;
    if (position !== undefined && positionAtOrBefore(position, skipping.committed) === true) {
      if (positionAtOrBefore(skipping.committed, position) === true) this.#skipping = undefined;
      return [];
    }
    const emittedBy = skipping.emittedBy;
    if (emittedBy !== undefined) {
      // Positions are only partly ordered (a topic's partitions move apart): a batch past the
      // committed position in one partition may still replay another, so every batch is filtered
      // until the source is past the committed position everywhere.
      if (position !== undefined && positionAtOrBefore(skipping.committed, position) === true) this.#skipping = undefined;
      return batch.filter((change) => !(change.kind === 'insert' && emittedBy(change.id)));
    }
    this.#skipping = undefined;
    if (batch.length > 0) {
      this.#warn(
        `sink "${this.name}": resuming after ${describePosition(skipping.committed)}, the source's batch that crosses it ` +
          `${position === undefined ? '(with no position)' : `(up to ${describePosition(position)})`} cannot be split, so up to ${batch.length} changes of it may be written again`,
      );
    }
    return batch;
  }

  /** How the replaying source tells the rows it had emitted by `committed`, when it can. */
  #emittedByOf(committed: SourcePosition): ((id: RowId) => boolean) | undefined {
    if (!this.#table.appendOnly) return undefined;
    const sources = sourcesOf(this.#table);
    const source = sources.length === 1 ? sources[0] : undefined;
    if (source === undefined || !isSource(source) || source.rowEmittedBy === undefined) return undefined;
    return (id) => source.rowEmittedBy?.(id, committed) === true;
  }

  /** Applies the recovered position to what was queued while recovering, then lets writing begin. */
  #resumeAfter(committed: SourcePosition | undefined): void {
    this.#recovering = false;
    if (committed === undefined) return;
    this.#skipping = { committed, emittedBy: this.#emittedByOf(committed) };
    const queued = this.#queue;
    const marks = this.#marks;
    this.#queue = [];
    this.#queueHead = 0;
    this.#marks = [];
    this.#markHead = 0;
    this.#enqueued = 0;
    let start = 0;
    for (const mark of marks) {
      this.#enqueue(queued.slice(start, mark.upTo), mark.position);
      start = mark.upTo;
    }
    if (start < queued.length) this.#enqueue(queued.slice(start), undefined);
  }

  /** An interval trigger with maxRows has that many changes waiting, so its micro-batch is written now. */
  #bufferFull(): boolean {
    return this.#trigger.kind === 'interval' && this.#trigger.maxRows !== undefined && this.#queued() >= this.#trigger.maxRows;
  }

  /** True once nothing more will be written: a stop was asked for, the table ended, or the sink failed. */
  #closing(): boolean {
    return this.#state === SinkState.Stopping || this.#state === SinkState.Failed || this.#tableEnded;
  }

  /** Resolves after `ms`, or earlier when the sink is woken (stop, table end, new changes). */
  async #sleep(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      timer = setTimeout(resolve, ms);
    });
    clearTimeout(timer);
    this.#wake = undefined;
  }

  async #run(): Promise<void> {
    try {
      const registry = this.#spec.kafka['schema.registry.url'];
      const context = {
        sink: this.name,
        topic: this.topic ?? this.#spec.topicColumn ?? '',
        ...(registry === undefined ? {} : { schemaRegistryUrl: String(registry) }),
      };
      await this.#keyEncoder.prepare?.({ ...context, part: 'key' });
      await this.#valueEncoder.prepare?.({ ...context, part: 'value' });
      this.#delivery = await this.#openDelivery();
      // Recover first (exactly-once: fence, then read the committed progress), then skip what it covers.
      const committed = await this.#delivery.open();
      this.#resumeAfter(committed?.position);
      // Learn the partitions now, so a wrong address or a missing topic fails before the first trigger.
      await this.#encoder.prepare();
      if (this.#state === SinkState.Starting) this.#transition(SinkState.Running);
      switch (this.#trigger.kind) {
        case 'continuous':
          await this.#runContinuous();
          break;
        case 'interval':
          await this.#runMicroBatches(this.#trigger.intervalMs);
          break;
        case 'once':
          await this.#writeTrigger(this.#takeAll());
          break;
      }
      await this.#delivery.endEpoch(this.#takenPosition);
      // Everything the table gave is written; a source that ended by failing fails the sink too.
      const failure = this.#tableEnded ? sourceFailure(this.#table) : undefined;
      if (failure !== undefined) {
        throw new SpillwayError(failure.code, `sink "${this.name}": its source failed: ${failure.message}`, { cause: failure });
      }
      await this.#finish();
    } catch (error) {
      await this.#fail(asSpillwayError(error));
    }
  }

  /**
   * Opens the checkpoint location (refusing another query's), then the delivery stage: a
   * transaction per epoch for exactly-once, acknowledged writes otherwise.
   */
  async #openDelivery(): Promise<Delivery> {
    const spec = this.#spec;
    const topic = checkpointTopic(spec);
    const checkpoint = spec.checkpointLocation === undefined ? undefined : await CheckpointLocation.open(spec.checkpointLocation, { sink: this.name, topic });
    const common = {
      sink: this.name,
      checkpoint,
      maxWritesInFlight: MAX_WRITES_IN_FLIGHT,
      onDelivered: (records: number, bytes: number) => {
        this.#records += records;
        this.#bytes += bytes;
      },
      onFailure: (error: SpillwayError) => void this.#fail(error),
    };
    if (spec.delivery !== 'exactly-once') return new AcknowledgedDelivery(this.#writer, common);
    if (!isTransactionalWriter(this.#writer) || this.#createTopicLog === undefined) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `sink "${this.name}": exactly-once delivery needs a transactional writer and the progress topic's log; run it with openSink (the Kafka client), or give runSink both`,
      );
    }
    return new TransactionalDelivery(this.#writer, { ...common, log: this.#createTopicLog(this.#settings), progressTopic: spec.progressTopic, shard: 0, topic, consumerGroup: spec.transactionalIdPrefix ?? `spillway-${this.name}`,
      // The next epoch's batches, encoded while the last epoch commits: enough for a commit's
      // 20-40 ms at the rates measured, and few enough to die young (40,000 were promoted, and
      // cost a fifth more time; docs/benchmarks.md).
      maxHeldRecords: HELD_BATCHES * this.#settings.sinkBatchRecords,
      onWarning: (warning) => this.#warn(warning),
    });
  }

  get #deliveryStage(): Delivery {
    if (this.#delivery === undefined) throw new SpillwayError(ErrorCode.Internal, `sink "${this.name}" wrote before its delivery stage was open`);
    return this.#delivery;
  }

  /** Ends an epoch at delivery: what was sent is acknowledged, or committed with the position it reaches. */
  async #commitEpoch(): Promise<void> {
    await this.#deliveryStage.endEpoch(this.#takenPosition);
  }

  /** Epochs bound a continuous sink's transactions (exactly-once) and checkpoints; default 1 s where those need them. */
  #epochMs(): number | undefined {
    if (this.#trigger.kind !== 'continuous') return undefined;
    if (this.#trigger.epochMs !== undefined) return this.#trigger.epochMs;
    return this.#spec.delivery === 'exactly-once' || this.#spec.checkpointLocation !== undefined ? DEFAULT_EPOCH_MS : undefined;
  }

  async #runContinuous(): Promise<void> {
    const epochMs = this.#epochMs();
    const epochs = epochMs === undefined ? undefined : new EpochClock(epochMs);
    for (;;) {
      if (epochs?.due() === true) await this.#endEpoch(epochs);
      if (this.#queued() === 0) {
        if (this.#closing()) {
          if (epochs !== undefined) await this.#endEpoch(epochs);
          await this.#epochEnding;
          return;
        }
        await this.#sleep(epochs?.remaining() ?? 2 ** 31 - 1);
        continue;
      }
      // Linger: let a batch fill for a moment unless it is already full or the sink is closing;
      // never past the end of the epoch. Each new change wakes the wait, which ends as soon as
      // the batch is full: a busy source does not wait for the linger.
      const lingerMs = Math.min(this.#settings.lingerMs, epochs?.remaining() ?? Infinity);
      const lingerUntil = performance.now() + lingerMs;
      while (!this.#closing() && this.#queued() < this.#settings.sinkBatchRecords && performance.now() < lingerUntil) {
        await this.#sleep(lingerUntil - performance.now());
      }
      await this.#writeTrigger(this.#take(this.#settings.sinkBatchRecords));
    }
  }

  /**
   * The end of an epoch: what arrived during it is written and acknowledged, then progress is
   * reported. Changes arriving meanwhile belong to the next epoch, so a busy table cannot hold
   * an epoch open. Under exactly-once the next epoch is written while this one commits (its
   * records are held until then), and the report comes once it has committed.
   */
  async #endEpoch(epochs: EpochClock): Promise<void> {
    let owed = this.#queued();
    while (owed > 0) {
      const batch = this.#take(Math.min(owed, this.#settings.sinkBatchRecords));
      owed -= batch.length;
      await this.#writeTrigger(batch);
    }
    // One epoch ends at a time: the last one has committed and been reported.
    await this.#epochEnding;
    const delivery = this.#deliveryStage;
    const position = this.#takenPosition;
    const rows = this.#rowsSeen;
    const committed = this.#commitEpoch();
    const report = (epoch: number) =>
      this.#onProgress?.({
        sink: this.name,
        epoch,
        rows,
        records: this.#records,
        bytes: this.#bytes,
        transactions: delivery.transactions,
        ...(position === undefined ? {} : { position }),
        at: Date.now(),
      });
    if (!delivery.overlapsEpochs) {
      await committed;
      report(epochs.advance());
      return;
    }
    // Exactly-once: the next epoch is encoded while this one commits; a failed commit fails the
    // sink at once, even one with nothing more to write.
    const epoch = epochs.advance();
    const ending = committed.then(() => report(epoch));
    this.#epochEnding = ending;
    ending.catch((error: unknown) => void this.#fail(asSpillwayError(error)));
  }

  /** A trigger every interval (skipping intervals with nothing new), and a last one when closing. */
  async #runMicroBatches(intervalMs: number): Promise<void> {
    let next = Date.now() + intervalMs;
    for (;;) {
      while (!this.#closing() && !this.#bufferFull() && Date.now() < next) await this.#sleep(next - Date.now());
      // A batch written early (maxRows reached) keeps the interval's schedule, as Flink's buffer does.
      if (Date.now() >= next) next += intervalMs * Math.max(1, Math.ceil((Date.now() - next) / intervalMs));
      const final = this.#closing();
      const maxRows = this.#trigger.kind === 'interval' ? this.#trigger.maxRows : undefined;
      await this.#writeTrigger(maxRows === undefined ? this.#takeAll() : this.#takeBatches(maxRows));
      await this.#commitEpoch();
      if (final && this.#queued() === 0) return;
    }
  }

  /**
   * At least `limit` changes, up to the end of the source batch the last of them is in (or all
   * that is queued): an epoch never ends inside a batch, so its position covers exactly what it wrote.
   */
  #takeBatches(limit: number): Change[] {
    const wanted = this.#takenCount + limit;
    for (let index = this.#markHead; index < this.#marks.length; index++) {
      const mark = this.#marks[index] as PositionMark;
      if (mark.upTo >= wanted) return this.#take(mark.upTo - this.#takenCount);
    }
    return this.#takeAll();
  }

  #queued(): number {
    return this.#queue.length - this.#queueHead;
  }

  /** Counts changes as taken, and moves the taken position past every mark they reach. */
  #taken(count: number): void {
    this.#takenCount += count;
    const marks = this.#marks;
    while (this.#markHead < marks.length && (marks[this.#markHead] as PositionMark).upTo <= this.#takenCount) {
      this.#takenPosition = (marks[this.#markHead] as PositionMark).position;
      this.#markHead++;
    }
    if (this.#markHead === marks.length) {
      this.#marks = [];
      this.#markHead = 0;
    } else if (this.#markHead > 1024 && this.#markHead * 2 > marks.length) {
      this.#marks = marks.slice(this.#markHead);
      this.#markHead = 0;
    }
  }

  #take(limit: number): Change[] {
    const end = Math.min(this.#queue.length, this.#queueHead + limit);
    const taken = this.#queue.slice(this.#queueHead, end);
    this.#queueHead = end;
    this.#taken(taken.length);
    // Drop the consumed prefix once all is taken, or once it is most of the queue, so the queue
    // does not keep written changes (and their rows) alive; copying the rest then costs no more
    // than what was taken.
    if (this.#queueHead === this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
    } else if (this.#queueHead > 1_024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
    this.#gate.update(this.#queued());
    return taken;
  }

  #takeAll(): Change[] {
    const taken = this.#queueHead === 0 ? this.#queue : this.#queue.slice(this.#queueHead);
    this.#queue = [];
    this.#queueHead = 0;
    this.#taken(taken.length);
    this.#gate.update(0);
    return taken;
  }

  /** One trigger: the changes through the update mode, then its records, in batches. */
  async #writeTrigger(changes: readonly Change[]): Promise<void> {
    let refused: SpillwayError | undefined;
    for (const change of changes) {
      try {
        this.#updateMode.accept(change);
      } catch (error) {
        // The mode refused this change (say, a key two rows share): write what came before it, then fail.
        refused = asSpillwayError(error);
        break;
      }
      this.#rowsSeen++;
    }
    const intents = this.#updateMode.drain();
    if (intents.length > 0) {
      this.#triggers++;
      const perBatch = this.#settings.sinkBatchRecords;
      for (let start = 0; start < intents.length; start += perBatch) {
        const { records, bytes } = await this.#encoder.encode(intents.slice(start, start + perBatch), this.#triggers);
        if (records.length > 0) await this.#deliveryStage.send(records, bytes);
      }
    }
    if (refused !== undefined) throw refused;
  }

  /** Stops listening, and stops holding back the sources. */
  #detach(): void {
    this.#subscription?.unsubscribe();
    this.#releaseGate?.();
    this.#gate.openNow();
    // The last-by-key table is the sink's own: closing it leaves the caller's table open.
    if (this.#spec.lastByKeyColumns) void this.#table.close();
  }

  async #finish(): Promise<void> {
    this.#detach();
    if (this.#state !== SinkState.Stopping) this.#transition(SinkState.Stopping);
    await (this.#delivery === undefined ? this.#writer.close() : this.#delivery.close());
    this.#transition(SinkState.Stopped);
    this.#resolveDone();
  }

  async #fail(error: SpillwayError): Promise<void> {
    if (this.#state === SinkState.Failed || this.#state === SinkState.Stopped) return;
    this.#detach();
    this.#failure = error;
    this.#transition(SinkState.Failed);
    this.#queue = [];
    this.#queueHead = 0;
    // A failure noticed outside the run loop (a write in flight) ends the loop's wait as well.
    this.#wake?.();
    await (this.#delivery === undefined ? this.#writer.close() : this.#delivery.abandon()).catch(() => {});
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

/**
 * Runs a plan: subscribes to its table at once (so no change is missed), then connects through
 * the writer and writes in the background. One plan may run more than once, each run with its
 * own writer.
 */
export function runSink(plan: SinkPlan, writer: RecordWriter | WriterFactory, options: RunOptions = {}): SinkHandle {
  const sink = new Sink(plan, writer, options);
  sink.start();
  return sink;
}

/**
 * Plans (validating everything before anything connects), then runs with the writer the
 * dependencies build from the plan's settings. The caller's objects are never mutated.
 */
export function startSink(table: Table, specInput: unknown, deps: SinkDependencies): SinkHandle {
  const plan = planSink(table, specInput);
  return runSink(plan, deps.createWriter, deps);
}
