/**
 * The stable transactional id of a sink shard, and the transaction timeout's checks.
 *
 * Exactly-once needs one transactional id per shard that is the same on every restart: the new
 * process initialises it, which fences the old one (a zombie's writes fail, its open transaction
 * is aborted), and only then reads the committed progress. So the id comes from the sink's name
 * (user-given and unique per sink, never just the topic) and the shard, never from a random
 * value or the process. Flink's `sink.transactional-id-prefix` replaces the name part, for
 * clusters where ids must follow a naming rule (ACLs on a prefix): the id is `<prefix>-<shard>`.
 * Unlike Flink, which opens a new id per checkpoint and aborts the lingering ones by probing,
 * one id per shard is reused for every epoch, so fencing alone clears what a crash left open.
 */
import { ErrorCode, SpillwayError } from '../errors.ts';
import { checkSinkShard } from './progress.ts';

export interface TransactionalIdOptions {
  readonly sink: string;
  readonly shard: number;
  /** Flink's `sink.transactional-id-prefix`; default `spillway-<sink name>`. */
  readonly prefix?: string | undefined;
}

/** Kafka's limit for a transactional id is a short string's: 32767 bytes. */
const MAX_ID_BYTES = 32_767;

export function transactionalIdFor(options: TransactionalIdOptions): string {
  checkSinkShard(options.sink, options.shard);
  const { prefix } = options;
  if (prefix !== undefined && (prefix.trim() === '' || /\s/.test(prefix))) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `sink "${options.sink}": sink.transactional-id-prefix ${JSON.stringify(prefix)} is empty or holds spaces; give a prefix such as "orders-sink", unique to this sink in the cluster`,
    );
  }
  const id = `${prefix ?? `spillway-${options.sink}`}-${options.shard}`;
  if (Buffer.byteLength(id) > MAX_ID_BYTES) {
    throw new SpillwayError(ErrorCode.InvalidConfig, `sink "${options.sink}": the transactional id would be ${Buffer.byteLength(id)} bytes; Kafka allows ${MAX_ID_BYTES}; give a shorter sink.transactional-id-prefix`);
  }
  return id;
}

export interface TransactionTimeoutCheck {
  readonly sink: string;
  /** How long one epoch's transaction stays open: the trigger interval, or the continuous epoch bound. */
  readonly epochMs: number;
  /** The producer's `transaction.timeout.ms`. */
  readonly transactionTimeoutMs: number;
  /** The broker's `transaction.max.timeout.ms` (Kafka's default: 15 minutes). */
  readonly brokerMaxTimeoutMs?: number;
}

/**
 * A transaction open longer than `transaction.timeout.ms` is aborted by the broker, so an epoch
 * would be lost; the timeout must cover an epoch twice over (the epoch, then its commit under
 * load), and the broker refuses a timeout above its `transaction.max.timeout.ms`.
 */
export function checkTransactionTimeout(check: TransactionTimeoutCheck): void {
  const cap = check.brokerMaxTimeoutMs ?? 900_000;
  if (check.transactionTimeoutMs > cap) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `sink "${check.sink}": transaction.timeout.ms is ${check.transactionTimeoutMs} but the broker allows at most ${cap} (transaction.max.timeout.ms); lower it, or raise the broker's transaction.max.timeout.ms`,
    );
  }
  if (check.transactionTimeoutMs < 2 * check.epochMs) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `sink "${check.sink}": transaction.timeout.ms is ${check.transactionTimeoutMs} but an epoch lasts ${check.epochMs} ms, so the broker could abort an epoch before it commits; ` +
        `set transaction.timeout.ms to at least ${2 * check.epochMs} (twice the epoch), or use a shorter trigger interval`,
    );
  }
}

/**
 * Front doors name a sink after its topic when the user gives no name; under exactly-once that
 * name would be shared by every sink writing the topic, so they fence each other and share
 * progress. Such a front door asks for a name instead, saying how to give one.
 */
export function requireOwnName(delivery: unknown, name: string | undefined, where: string, how: string): void {
  if (delivery !== 'exactly-once' || name !== undefined) return;
  throw new SpillwayError(
    ErrorCode.InvalidConfig,
    `${where}: exactly-once delivery needs a name of the sink's own — its transactional id and progress key, the same on every restart; ${how}. ` +
      'A name made from the topic would be shared by every sink writing that topic',
    { details: { field: 'name', hint: how } },
  );
}
