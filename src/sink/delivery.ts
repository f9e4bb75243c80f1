/**
 * Delivery: the sink's last stage. The trigger loop and the encode stage hand it records and,
 * at the end of each epoch, the source position those records bring the sink to; delivery makes
 * that true at the guarantee chosen, and the stages before it do not know which:
 *
 * - at-least-once (and `none`): records are written with several writes in flight, so encoding
 *   the next batch overlaps the acknowledgement of the last; an epoch ends once every write is
 *   acknowledged. With a checkpoint location the epoch's position is mirrored there, so a restart
 *   skips what was acknowledged (what came after it may be written twice).
 * - exactly-once: one Kafka transaction per epoch. The epoch's records, and a progress record
 *   (src/sink/progress.ts) in the sink's compacted progress topic, commit together or not at all.
 *   A Kafka source's offsets also commit, in the same transaction, for the sink's consumer group.
 *   Recovery runs fence → read → resume: initialising the stable transactional id fences a
 *   zombie and aborts what it left open, and only then is the last committed progress read, so
 *   nothing a zombie could still commit is missed.
 */
import { ErrorCode, SpillwayError, asSpillwayError } from '../errors.ts';
import type { KafkaRecord, RecordWriter, TopicLog, TransactionalRecordWriter } from '../kafka/record-writer.ts';
import { TransactionState } from '../kafka/transaction-state.ts';
import { PositionKind, type SourcePosition, describePosition, positionAtOrBefore } from '../model/position.ts';
import type { CheckpointLocation } from './checkpoint-location.ts';
import { type ProgressRecord, encodeProgress, lastCommittedProgress, progressKey } from './progress.ts';

export interface Delivery {
  /** Recovers: the last progress this sink committed (or acknowledged, with a checkpoint), if any. */
  open(): Promise<ProgressRecord | undefined>;
  /**
   * Hands records over. Resolves once there is room for more (a bounded number of writes stays in
   * flight); a failed earlier write rejects a later call with its cause.
   */
  send(records: readonly KafkaRecord[], bytes: number): Promise<void>;
  /**
   * Ends the epoch: every record sent is acknowledged (at-least-once) or committed (exactly-once)
   * together with `position`, the source position of everything sent so far.
   */
  endEpoch(position: SourcePosition | undefined): Promise<void>;
  /** Committed transactions so far (0 unless exactly-once). */
  readonly transactions: number;
  /**
   * Whether records may be sent while an epoch's `endEpoch` is still pending: they belong to the
   * next epoch (exactly-once holds them, a bounded few batches, until the commit is done, so the
   * next epoch is encoded while the last one commits). Otherwise `endEpoch` is awaited first.
   */
  readonly overlapsEpochs: boolean;
  /** Ends what is open after a failure (an open transaction is aborted), then closes. */
  abandon(): Promise<void>;
  close(): Promise<void>;
}

export interface DeliveryOptions {
  readonly sink: string;
  /** Told of records (and their key and value bytes) once acknowledged, or committed under exactly-once. */
  readonly onDelivered: (records: number, bytes: number) => void;
  /** Writes kept in flight before `send` waits for the oldest. */
  readonly maxWritesInFlight: number;
  /** Told at once of the first write that fails, so a sink with nothing more to send fails now, not at its next epoch. */
  readonly onFailure: (error: SpillwayError) => void;
  readonly checkpoint?: CheckpointLocation | undefined;
}

export interface TransactionalDeliveryOptions extends DeliveryOptions {
  readonly log: TopicLog;
  readonly progressTopic: string;
  readonly shard: number;
  /** The topic the sink writes, kept in its progress: a restart under the same name writing another is refused. */
  readonly topic: string;
  /** The consumer group whose offsets on a Kafka source commit with each epoch, for lag monitoring. */
  readonly consumerGroup: string;
  readonly onWarning: (warning: string) => void;
  /** Records of the next epoch held while the last one commits before `send` waits for the commit. */
  readonly maxHeldRecords: number;
}

export function isTransactionalWriter(writer: RecordWriter): writer is TransactionalRecordWriter {
  return typeof (writer as Partial<TransactionalRecordWriter>).beginTransaction === 'function';
}

/** Writes in flight, at most a few at a time; the first failure is kept and rethrown. */
class WritesInFlight {
  readonly #write: (records: readonly KafkaRecord[]) => Promise<void>;
  readonly #max: number;
  readonly #onDone: (records: number, bytes: number) => void;
  readonly #onFailure: (error: SpillwayError) => void;
  #pending: Promise<void>[] = [];
  #failure: SpillwayError | undefined;

  constructor(write: (records: readonly KafkaRecord[]) => Promise<void>, max: number, onDone: (records: number, bytes: number) => void, onFailure: (error: SpillwayError) => void) {
    this.#write = write;
    this.#max = max;
    this.#onDone = onDone;
    this.#onFailure = onFailure;
  }

  /**
   * Starts a write; resolves once at most `max` writes are in flight. Not an async function, so
   * that waiting for room keeps no records alive (the client has copied them).
   */
  add(records: readonly KafkaRecord[], bytes: number): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const count = records.length;
    const write = this.#write(records).then(
      () => this.#onDone(count, bytes),
      (error: unknown) => {
        if (this.#failure !== undefined) return;
        this.#failure = asSpillwayError(error, ErrorCode.DeliveryFailed);
        this.#onFailure(this.#failure);
      },
    );
    this.#pending.push(write);
    return this.#room();
  }

  async #room(): Promise<void> {
    while (this.#pending.length > this.#max) await this.#pending.shift();
    this.check();
  }

  /** Resolves once every write is acknowledged; rejects with the first failure. */
  async settle(): Promise<void> {
    const pending = this.#pending;
    this.#pending = [];
    await Promise.all(pending);
    this.check();
  }

  check(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** The first write that failed, if one has. */
  get failure(): SpillwayError | undefined {
    return this.#failure;
  }
}

/** At-least-once (and `none`): acknowledged writes, progress mirrored to the checkpoint if there is one. */
export class AcknowledgedDelivery implements Delivery {
  readonly transactions = 0;
  readonly overlapsEpochs = false;
  readonly #writer: RecordWriter;
  readonly #options: DeliveryOptions;
  readonly #writes: WritesInFlight;
  #epoch = 0;
  #mirrored: SourcePosition | undefined;

  constructor(writer: RecordWriter, options: DeliveryOptions) {
    this.#writer = writer;
    this.#options = options;
    this.#writes = new WritesInFlight((records) => writer.write(records), options.maxWritesInFlight, options.onDelivered, options.onFailure);
  }

  async open(): Promise<ProgressRecord | undefined> {
    const last = await this.#options.checkpoint?.readProgress(0);
    if (last !== undefined) {
      this.#epoch = last.epoch + 1;
      this.#mirrored = last.position;
    }
    return last;
  }

  send(records: readonly KafkaRecord[], bytes: number): Promise<void> {
    return this.#writes.add(records, bytes);
  }

  async endEpoch(position: SourcePosition | undefined): Promise<void> {
    await this.#writes.settle();
    const checkpoint = this.#options.checkpoint;
    if (checkpoint === undefined || position === undefined) return;
    if (this.#mirrored !== undefined && positionAtOrBefore(position, this.#mirrored) === true) return;
    await checkpoint.writeProgress({ sink: this.#options.sink, shard: 0, epoch: this.#epoch++, position });
    this.#mirrored = position;
  }

  async abandon(): Promise<void> {
    // The writes in flight were accepted: they finish (or fail) before the connection closes.
    await this.#writes.settle().catch(() => {});
    await this.#writer.close().catch(() => {});
  }

  async close(): Promise<void> {
    await this.#writes.settle();
    await this.#writer.close();
  }
}

interface HeldBatch {
  readonly records: readonly KafkaRecord[];
  readonly bytes: number;
}

/**
 * Exactly-once: a transaction per epoch, committing the records with the sink's progress.
 *
 * Records are handed over without a flush each: librdkafka's commit waits for every record of
 * the transaction and fails if one was refused, so the commit is their acknowledgement. Waiting
 * for it drains what librdkafka holds, which takes the broker a while; meanwhile the sink encodes
 * the next epoch, whose batches are held here (up to `maxHeldRecords` records before `send` waits)
 * and handed over, in a new transaction, once the commit is done.
 */
export class TransactionalDelivery implements Delivery {
  readonly overlapsEpochs = true;
  readonly #writer: TransactionalRecordWriter;
  readonly #options: TransactionalDeliveryOptions;
  readonly #writes: WritesInFlight;
  readonly #key: Buffer;
  /** Records and bytes of the open transaction, counted as delivered once it commits. */
  #openRecords = 0;
  #openBytes = 0;
  #epoch = 0;
  #committed: SourcePosition | undefined;
  #transactions = 0;
  /** While an epoch commits: its commit, then the hand-over of the batches sent meanwhile. */
  #committing: Promise<void> | undefined;
  /** Batches of the next epoch sent while the last one commits. */
  #held: HeldBatch[] = [];
  #heldRecords = 0;
  #abandoned = false;

  constructor(writer: TransactionalRecordWriter, options: TransactionalDeliveryOptions) {
    this.#writer = writer;
    this.#options = options;
    this.#key = progressKey(options.sink, options.shard);
    this.#writes = new WritesInFlight(
      (records) => writer.handOver(records),
      options.maxWritesInFlight,
      (records, bytes) => {
        this.#openRecords += records;
        this.#openBytes += bytes;
      },
      options.onFailure,
    );
  }

  get transactions(): number {
    return this.#transactions;
  }

  async open(): Promise<ProgressRecord | undefined> {
    const { sink, shard, progressTopic, log, checkpoint } = this.#options;
    // Fence first: a zombie with this id can no longer commit, and what it left open is aborted.
    // The progress topic is made sure of, and its reader connects, meanwhile; it reads once both are done.
    const fenced = Promise.all([this.#writer.initTransactions(), log.ensureCompacted(progressTopic)]);
    const [, logged] = await Promise.all([fenced, log.readCommitted(progressTopic, fenced)]);
    const last = lastCommittedProgress(logged, sink, shard);
    const mirrored = await checkpoint?.readProgress(shard);
    if (mirrored !== undefined && (last === undefined || mirrored.epoch > last.epoch)) {
      // The topic commits with the records, so it is the truth; a mirror ahead of it means the
      // progress topic was deleted or is another cluster's.
      this.#options.onWarning(
        `sink "${sink}": the checkpoint location says epoch ${mirrored.epoch} (${describePosition(mirrored.position)}) was committed, but the progress topic "${progressTopic}" ` +
          (last === undefined ? 'has no progress for this sink' : `says epoch ${last.epoch}`) +
          '; resuming from the progress topic, which commits with the records — if the topic was deleted, rows already written will be written again',
      );
    }
    if (last?.topic !== undefined && last.topic !== this.#options.topic) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `sink "${sink}" committed its progress writing topic "${last.topic}" and now writes "${this.#options.topic}"; under exactly-once a name is one sink's identity, so resuming would skip rows the new topic never got: ` +
          `give this sink a name of its own, or write a tombstone for key "${progressKey(sink, shard).toString()}" in "${progressTopic}" to start it over`,
        { details: { sink, field: 'name', hint: 'give this sink a name of its own' } },
      );
    }
    if (last !== undefined) {
      this.#epoch = last.epoch + 1;
      this.#committed = last.position;
    }
    return last;
  }

  send(records: readonly KafkaRecord[], bytes: number): Promise<void> {
    if (this.#committing !== undefined) {
      const failure = this.#writes.failure;
      if (failure !== undefined) return Promise.reject(failure);
      this.#held.push({ records, bytes });
      this.#heldRecords += records.length;
      // Resolved in a turn of the event loop of its own, not at once: batches held one after
      // another would otherwise run as one chain of microtasks, and the commit's and the next
      // begin's callbacks would wait for it (beginTransaction took 39 ms on average, 5 with this).
      return this.#heldRecords < this.#options.maxHeldRecords ? new Promise((resolve) => setImmediate(resolve)) : this.#committing;
    }
    return this.#addInTransaction(records, bytes);
  }

  /** Starts the write in the open transaction, beginning one first if none is open. Not async: see #sendHeld. */
  #addInTransaction(records: readonly KafkaRecord[], bytes: number): Promise<void> {
    if (this.#writer.transactionState === TransactionState.InTransaction) return this.#writes.add(records, bytes);
    return this.#writer.beginTransaction().then(() => this.#writes.add(records, bytes));
  }

  /**
   * Commits what was sent before this call with `position`; resolves once committed. What is sent
   * from now on is the next epoch's, held until then. Epochs commit one at a time, in order.
   */
  endEpoch(position: SourcePosition | undefined): Promise<void> {
    const commit = (this.#committing ?? Promise.resolve()).then(() => this.#commit(position));
    const held: HeldBatch[] = [];
    this.#held = held;
    this.#heldRecords = 0;
    const committing = this.#afterCommit(commit, held);
    this.#committing = committing;
    // A failed commit rejects `endEpoch`, and any `send` waiting for it.
    committing.catch(() => {});
    return commit;
  }

  /** Once the commit is done, hands the batches held meanwhile over in the next transaction. */
  async #afterCommit(commit: Promise<void>, held: HeldBatch[]): Promise<void> {
    await commit;
    while (held.length > 0 && !this.#abandoned) await this.#sendHeld(held);
    // In the same turn as the check above: batches sent from now on go straight to the writer,
    // unless a later epoch has begun committing (they are then held for its commit).
    if (this.#held === held) this.#committing = undefined;
  }

  // Not an async function, so that no frame keeps a held batch's records once handed over.
  #sendHeld(held: HeldBatch[]): Promise<void> {
    const batch = held.shift() as HeldBatch;
    return this.#addInTransaction(batch.records, batch.bytes);
  }

  async #commit(position: SourcePosition | undefined): Promise<void> {
    await this.#writes.settle();
    const moved = position !== undefined && (this.#committed === undefined || positionAtOrBefore(position, this.#committed) !== true);
    const open = this.#writer.transactionState === TransactionState.InTransaction;
    if (!open && !moved) return;
    if (!open) await this.#writer.beginTransaction();
    const { sink, shard, topic, progressTopic, checkpoint } = this.#options;
    const progress: ProgressRecord | undefined = position === undefined ? undefined : { sink, shard, topic, epoch: this.#epoch, position };
    if (progress !== undefined) {
      await this.#writer.handOver([{ topic: progressTopic, partition: 0, key: this.#key, value: encodeProgress(progress) }]);
      if (progress.position.kind === PositionKind.Kafka) {
        // The progress record is what recovery reads; the group's offsets show the sink's lag to Kafka's tools.
        const { topic, offsets } = progress.position;
        await this.#writer.sendOffsets(this.#options.consumerGroup, offsets.map(({ partition, offset }) => ({ topic, partition, offset: BigInt(offset) })));
      }
    }
    await this.#writer.commitTransaction();
    this.#transactions++;
    this.#epoch++;
    this.#options.onDelivered(this.#openRecords, this.#openBytes);
    this.#openRecords = 0;
    this.#openBytes = 0;
    if (progress !== undefined) {
      this.#committed = progress.position;
      await checkpoint?.writeProgress(progress);
    }
  }

  async abandon(): Promise<void> {
    // Held batches are dropped: the sink failed, so they are never handed over.
    this.#abandoned = true;
    await this.#committing?.catch(() => {});
    if (this.#writer.transactionState === TransactionState.InTransaction || this.#writer.transactionState === TransactionState.AbortRequired) {
      // What this epoch wrote is discarded now rather than when transaction.timeout.ms runs out.
      await this.#writer.abortTransaction().catch(() => {});
    }
    await this.#writer.close().catch(() => {});
  }

  async close(): Promise<void> {
    await this.#committing;
    await this.#writes.settle();
    if (this.#writer.transactionState === TransactionState.InTransaction) {
      throw new SpillwayError(ErrorCode.Internal, `sink "${this.#options.sink}": closing with a transaction open; its epoch was not ended`);
    }
    await this.#writer.close();
  }
}
