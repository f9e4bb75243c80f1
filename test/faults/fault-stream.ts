/**
 * What every fault test writes and checks: keyed rows `{ key, seq }` (seq counts each key's rows
 * 0, 1, 2, …) from a paced async iterable, into a topic of the fault broker through a sink, then
 * read back with kcat and checked with the delivery invariants.
 */
import { jsonSpec, simpleSpec } from '../../src/formats/key-value-spec.ts';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import { defineSchema } from '../../src/model/schema.ts';
import type { Table } from '../../src/model/table.ts';
import { fromAsyncIterable } from '../../src/sources/iterable-table.ts';
import { openSink } from '../../src/sink/open-sink.ts';
import type { SinkHandle } from '../../src/sink/sink.ts';
import { type DeliveredRow, type Guarantee, assertDelivery, deliveredFrom } from '../helpers/delivery-invariants.ts';
import { type KcatRecord, eventually, kcatRead } from '../helpers/kafka.ts';

export const faultRowSchema = defineSchema({ key: 'string', seq: 'int32' });

export interface FaultStreamOptions {
  readonly total: number;
  readonly keys?: number;
  /** Rows per second the source offers (it also waits while the sink is full). */
  readonly rate?: number;
}

/** `total` rows over `keys` keys, row i with key `k<i mod keys>`, at about `rate` rows/s. */
export async function* pacedRows(options: FaultStreamOptions): AsyncGenerator<{ key: string; seq: number }[]> {
  const keys = options.keys ?? 8;
  const step = 50;
  const started = Date.now();
  for (let i = 0; i < options.total; i += step) {
    const batch: { key: string; seq: number }[] = [];
    for (let j = i; j < Math.min(options.total, i + step); j++) batch.push({ key: `k${j % keys}`, seq: Math.floor(j / keys) });
    yield batch;
    if (options.rate !== undefined) {
      const due = started + ((i + step) / options.rate) * 1000;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/** How many rows each key has among the first `total` rows. */
export function expectedRows(total: number, keys = 8): Map<string, number> {
  const expected = new Map<string, number>();
  for (let k = 0; k < Math.min(keys, total); k++) expected.set(`k${k}`, Math.floor((total - 1 - k) / keys) + 1);
  return expected;
}

export function decodeRow(record: KcatRecord): { key: string; sequence: number } {
  const value = JSON.parse(record.value?.toString('utf8') ?? 'null') as { key: string; seq: number };
  return { key: value.key, sequence: value.seq };
}

export interface FaultSink {
  readonly sink: SinkHandle;
  /** The paced source; a test whose sink fails closes it, so it stops offering rows. */
  readonly table: Table;
  /** Every warning the sink told `onWarning`, in order. */
  readonly heard: string[];
}

/** A sink of the paced rows into `topic` (created with `partitions`) on `servers`. */
export async function openFaultSink(
  servers: string,
  topic: string,
  stream: FaultStreamOptions,
  options: {
    readonly name?: string;
    readonly kafka?: Readonly<Record<string, string | number | boolean>>;
    readonly partitions?: number;
    /** Exactly-once writes a transaction per 100 ms epoch, its progress to a topic of its own. */
    readonly delivery?: 'at-least-once' | 'exactly-once';
  } = {},
): Promise<FaultSink> {
  await createTopic([servers], topic, { partitions: options.partitions ?? 3 });
  const table = fromAsyncIterable(faultRowSchema, pacedRows(stream));
  const heard: string[] = [];
  const sink = openSink(
    table,
    {
      name: options.name ?? topic,
      topic,
      key: simpleSpec('key'),
      value: jsonSpec(['key', 'seq']),
      delivery: options.delivery ?? 'at-least-once',
      ...(options.delivery === 'exactly-once' ? { trigger: { interval: '100 ms' }, progressTopic: `${topic}-progress` } : {}),
      kafka: { 'bootstrap.servers': servers, 'linger.ms': 5, ...options.kafka },
    },
    { onWarning: (warning) => heard.push(warning) },
  );
  return { sink, table, heard };
}

/** Reads the topic back with kcat and asserts the guarantee over the first `total` rows; returns the rows. */
export async function assertTopicKeeps(
  servers: string,
  topic: string,
  total: number,
  guarantee: Guarantee,
  keys = 8,
): Promise<DeliveredRow[]> {
  // A commit returns before the broker has written its markers into every partition, so the last
  // transaction may become visible to a read_committed reader a moment later: read until every
  // row is there (or give up after a while), then judge what was read.
  const read = await eventually(() => kcatRead(topic, { brokers: servers, readCommitted: true }), (records) => records.length >= total, 30_000).catch(() =>
    kcatRead(topic, { brokers: servers, readCommitted: true }),
  );
  const rows = deliveredFrom(read, decodeRow);
  assertDelivery(rows, expectedRows(total, keys), guarantee);
  return rows;
}

/** Resolves with how long `promise` took, failing if it takes longer than `limitMs` (never a hang). */
export async function within<T>(limitMs: number, what: string, promise: Promise<T>, state?: () => unknown): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${limitMs} ms${state === undefined ? '' : `; ${JSON.stringify(state())}`}`)), limitMs);
  });
  try {
    const value = await Promise.race([promise, timeout]);
    return { value, ms: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}
