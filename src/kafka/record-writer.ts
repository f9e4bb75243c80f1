/**
 * The Kafka layer's one interface. It sees records of bytes, never rows: encoders and the sink
 * decide what the bytes are and which partition they go to; a writer only delivers them.
 */
import type { TransactionState } from './transaction-state.ts';

export interface KafkaHeader {
  readonly key: string;
  readonly value: Buffer;
}

export interface KafkaRecord {
  readonly topic: string;
  readonly partition: number;
  /** `null` for a keyless record. */
  readonly key: Buffer | null;
  /** `null` for a tombstone. */
  readonly value: Buffer | null;
  readonly headers?: readonly KafkaHeader[];
  /** Milliseconds since the epoch; the broker's append time applies when absent. */
  readonly timestamp?: bigint;
}

export interface TopicDescription {
  readonly name: string;
  readonly partitions: number;
}

/** What the layers above give a writer besides its settings. */
export interface WriterOptions {
  /**
   * Told of trouble while the writer keeps retrying, as it happens: each broker address that
   * cannot be reached and why ("connection refused", "timed out", "TLS handshake failed", …).
   */
  readonly onWarning?: (warning: string) => void;
}

/**
 * Every writer passes the conformance suite (test/kafka/record-writer-conformance.ts):
 *   - acks: `write` resolves only once every record is acknowledged (readable by a reader);
 *   - ordering: records of one partition land in the order given, across writes;
 *   - errors: a record for a partition that does not exist rejects the write with
 *     DELIVERY_FAILED (the records before it may be delivered); a failed writer rejects every
 *     later call with the same cause;
 *   - close: idempotent; any call after it rejects with INVALID_STATE.
 */
export interface RecordWriter {
  /** Partition count of a topic, creating it with the broker's defaults if the broker allows that. */
  describeTopic(topic: string): Promise<TopicDescription>;
  /**
   * Delivers the records, in order per partition. Resolves once the delivery guarantee is met
   * (acknowledged by the broker for at-least-once; handed to the client for `none`).
   */
  write(records: readonly KafkaRecord[]): Promise<void>;
  /** Delivers what is queued, then closes the connections; later calls fail with INVALID_STATE. */
  close(): Promise<void>;
}

/**
 * A writer with Kafka transactions (one transactional.id). Its state machine is in
 * transaction-state.ts; a call the current state does not allow fails with INVALID_STATE, and
 * `write` is allowed only inside a transaction. A newer writer with the same transactional.id
 * fences this one: its next call fails with DELIVERY_FAILED saying so.
 */
export interface TransactionalRecordWriter extends RecordWriter {
  readonly transactionState: TransactionState;
  /**
   * Registers the transactional.id with its coordinator: fences older writers with the same id
   * and has the broker check transaction.timeout.ms against its transaction.max.timeout.ms.
   * `beginTransaction` calls it when needed.
   */
  initTransactions(): Promise<void>;
  beginTransaction(): Promise<void>;
  /**
   * Gives records to the open transaction: resolves once the client holds them, without waiting
   * for the broker's acknowledgement. The commit is their acknowledgement: it waits for every
   * record of the transaction and fails if any was refused (after which the transaction can only
   * be aborted), so nothing handed over counts as delivered until it commits. Records of one
   * partition keep the order given, across `handOver` and `write`.
   */
  handOver(records: readonly KafkaRecord[]): Promise<void>;
  /** Makes the transaction's records visible to read_committed readers, all or nothing. */
  commitTransaction(): Promise<void>;
  /** Discards the transaction's records: read_committed readers never see them. */
  abortTransaction(): Promise<void>;
  /**
   * Commits a consumer group's offsets in the open transaction (Kafka's sendOffsetsToTransaction):
   * they become the group's committed offsets if, and when, the transaction commits.
   */
  sendOffsets(groupId: string, offsets: readonly ConsumedOffset[]): Promise<void>;
}

/** The next offset to read in a partition (Kafka's committed-offset meaning). */
export interface ConsumedOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
}

/** A record read back from a log topic; `where` names it in errors ("topic \"p\" partition 0 offset 7"). */
export interface LoggedRecord {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly where: string;
}

/**
 * A small compacted topic the sink keeps beside its output (its progress): created when missing,
 * and read back whole, committed records only, at recovery.
 */
export interface TopicLog {
  /** Creates the topic, one partition with cleanup.policy=compact, unless it exists. */
  ensureCompacted(topic: string): Promise<void>;
  /**
   * Every committed record of the topic from its start to its end, in offset order. Given
   * `after`, the reader connects at once but looks for the end only once `after` has resolved
   * (recovery: once the fence is in place), and rejects with its error if it rejects.
   */
  readCommitted(topic: string, after?: Promise<unknown>): Promise<readonly LoggedRecord[]>;
}
