/**
 * What a reader of each update mode does with a topic, so tests can check that the topic says
 * what the table did: compact by key (upsert, update), add and remove (retract), keep everything
 * (append), or take the last trigger's rows (complete). The folds check their own invariants
 * (a retraction of a row that is not there is an error) and are tested in changelog-fold.test.ts.
 */
import type { KafkaRecord } from '../../src/kafka/record-writer.ts';
import type { KcatRecord } from './kafka.ts';

export interface TopicRecord {
  readonly partition: number;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: ReadonlyMap<string, string>;
}

export function fromKafkaRecords(records: readonly KafkaRecord[]): TopicRecord[] {
  return records.map((record) => ({
    partition: record.partition,
    key: record.key?.toString('utf8') ?? null,
    value: record.value?.toString('utf8') ?? null,
    headers: new Map((record.headers ?? []).map((header) => [header.key, header.value.toString('utf8')])),
  }));
}

/** kcat prints headers as `key=value` pairs separated by commas. */
export function fromKcat(records: readonly KcatRecord[]): TopicRecord[] {
  return records.map((record) => ({
    partition: record.partition,
    key: record.key?.toString('utf8') ?? null,
    value: record.value?.toString('utf8') ?? null,
    headers: new Map(
      record.headers === ''
        ? []
        : record.headers.split(',').map((pair): [string, string] => {
            const equals = pair.indexOf('=');
            return [pair.slice(0, equals), pair.slice(equals + 1)];
          }),
    ),
  }));
}

function sorted(values: Iterable<string>): string[] {
  return [...values].sort();
}

/** Append: every value, as a multiset. */
export function foldAppend(records: readonly TopicRecord[]): string[] {
  return sorted(records.map((record) => record.value ?? 'null'));
}

/** Upsert and update: the last value per key; a tombstone removes the key. */
export function foldUpsert(records: readonly TopicRecord[]): string[] {
  const latest = new Map<string | null, string>();
  for (const record of records) {
    if (record.value === null) latest.delete(record.key);
    else latest.set(record.key, record.value);
  }
  return sorted(latest.values());
}

interface RowChange {
  readonly op: 'insert' | 'delete';
  readonly row: string;
}

/** One retract record read as the inserts and deletes it says; the decoder depends on the value format. */
export type RetractDecoder = (record: TopicRecord) => readonly RowChange[];

/** Retract with a change-kind header (formats without an envelope). */
export function headerDecoder(header = 'change-kind'): RetractDecoder {
  return (record) => {
    const op = record.headers.get(header);
    if (op !== 'insert' && op !== 'delete') throw new Error(`record without a valid ${header} header: ${JSON.stringify([...record.headers])}`);
    return [{ op, row: record.value ?? 'null' }];
  };
}

/** Feldera's insert_delete: `{"insert": row}` or `{"delete": row}`, or an array of them. */
export const insertDeleteDecoder: RetractDecoder = (record) => {
  const parsed = JSON.parse(record.value ?? 'null') as unknown;
  return (Array.isArray(parsed) ? parsed : [parsed]).map((event: Record<string, unknown>) => {
    const [op, ...more] = Object.keys(event);
    if ((op !== 'insert' && op !== 'delete') || more.length > 0) throw new Error(`not an insert_delete event: ${JSON.stringify(event)}`);
    return { op, row: JSON.stringify(event[op]) };
  });
};

/** The Debezium envelope: op c (after), d (before), u (before, then after). */
export const debeziumDecoder: RetractDecoder = (record) => {
  const event = JSON.parse(record.value ?? 'null') as { op: string; before: unknown; after: unknown };
  switch (event.op) {
    case 'c':
      return [{ op: 'insert', row: JSON.stringify(event.after) }];
    case 'd':
      return [{ op: 'delete', row: JSON.stringify(event.before) }];
    case 'u':
      return [{ op: 'delete', row: JSON.stringify(event.before) }, { op: 'insert', row: JSON.stringify(event.after) }];
    default:
      throw new Error(`not a Debezium event: ${record.value ?? 'null'}`);
  }
};

/** Retract: inserts add a row, deletes remove one; removing a row that is not there is an error. */
export function foldRetract(records: readonly TopicRecord[], decode: RetractDecoder): string[] {
  const counts = new Map<string, number>();
  for (const record of records) {
    for (const { op, row } of decode(record)) {
      const count = counts.get(row) ?? 0;
      if (op === 'insert') counts.set(row, count + 1);
      else if (count === 0) throw new Error(`a delete of ${row}, which the topic never inserted (or already deleted)`);
      else if (count === 1) counts.delete(row);
      else counts.set(row, count - 1);
    }
  }
  return sorted([...counts].flatMap(([row, count]) => Array.from({ length: count }, () => row)));
}

/** Complete: the rows of the last trigger (records carry a `trigger` header; tombstones say a key is gone). */
export function foldComplete(records: readonly TopicRecord[]): string[] {
  let last = -1;
  for (const record of records) last = Math.max(last, Number(record.headers.get('trigger') ?? Number.NaN));
  if (Number.isNaN(last)) throw new Error('a complete-mode record without a trigger header');
  return sorted(records.filter((record) => Number(record.headers.get('trigger')) === last && record.value !== null).map((record) => record.value ?? ''));
}

/** Every key is on exactly one partition, so a reader sees its records in order. Keyless records are not checked. */
export function keysStayOnOnePartition(records: readonly TopicRecord[]): boolean {
  const partitionOfKey = new Map<string, number>();
  for (const record of records) {
    if (record.key === null) continue;
    const seen = partitionOfKey.get(record.key);
    if (seen !== undefined && seen !== record.partition) return false;
    partitionOfKey.set(record.key, record.partition);
  }
  return true;
}
