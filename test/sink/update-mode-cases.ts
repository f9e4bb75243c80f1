/**
 * The update-mode conformance suite: every mode, run on random change sequences, must leave a
 * topic that its reader folds back into the table (see test/helpers/changelog-fold.ts), with each
 * key's records on one partition. The same cases run against the in-memory writer
 * (update-modes.test.ts) and the real broker (update-modes-kafka.test.ts).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { jsonSpec } from '../../src/formats/key-value-spec.ts';
import type { RecordWriter } from '../../src/kafka/record-writer.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { inputTable } from '../../src/sources/input-table.ts';
import { startSink } from '../../src/sink/sink.ts';
import type { SinkSpecInput } from '../../src/sink/sink-spec.ts';
import {
  type TopicRecord,
  debeziumDecoder,
  foldAppend,
  foldComplete,
  foldRetract,
  foldUpsert,
  headerDecoder,
  insertDeleteDecoder,
  keysStayOnOnePartition,
} from '../helpers/changelog-fold.ts';

export interface ModeCase {
  readonly name: string;
  /** Keyed cases run on a table with primary key `id` that updates and deletes; others only insert. */
  readonly keyed: boolean;
  readonly spec: Partial<SinkSpecInput>;
  /** What a reader of this mode does with the topic; must equal the table's final rows. */
  readonly fold: (records: readonly TopicRecord[]) => string[];
}

export const modeCases: readonly ModeCase[] = [
  { name: 'append', keyed: false, spec: { mode: 'append' }, fold: foldAppend },
  { name: 'append, micro-batches', keyed: false, spec: { mode: 'append', trigger: { interval: 3 } }, fold: foldAppend },
  { name: 'retract, change-kind header', keyed: true, spec: { mode: 'retract' }, fold: (records) => foldRetract(records, headerDecoder()) },
  {
    name: 'retract, micro-batches, own header name',
    keyed: true,
    spec: { mode: 'retract', trigger: { interval: 3 }, changeHeader: 'op' },
    fold: (records) => foldRetract(records, headerDecoder('op')),
  },
  {
    name: 'retract, Feldera insert_delete',
    keyed: true,
    spec: { mode: 'retract', value: jsonSpec(undefined, { updateFormat: 'insert_delete' }) },
    fold: (records) => foldRetract(records, insertDeleteDecoder),
  },
  {
    name: 'retract, insert_delete arrays, micro-batches',
    keyed: true,
    spec: { mode: 'retract', value: jsonSpec(undefined, { updateFormat: 'insert_delete', array: true }), trigger: { interval: 3 } },
    fold: (records) => foldRetract(records, insertDeleteDecoder),
  },
  {
    name: 'retract, Debezium envelope',
    keyed: true,
    spec: { mode: 'retract', key: jsonSpec(['id']), value: jsonSpec(undefined, { updateFormat: 'debezium' }) },
    fold: (records) => foldRetract(records, debeziumDecoder),
  },
  { name: 'upsert', keyed: true, spec: { mode: 'upsert', key: jsonSpec(['id']) }, fold: foldUpsert },
  { name: 'upsert, key that changes', keyed: true, spec: { mode: 'upsert', key: jsonSpec(['k', 'id']) }, fold: foldUpsert },
  { name: 'upsert, micro-batches', keyed: true, spec: { mode: 'upsert', key: jsonSpec(['id']), trigger: { interval: 3 } }, fold: foldUpsert },
  { name: 'update', keyed: true, spec: { mode: 'update', key: jsonSpec(['id']), trigger: { interval: 3 } }, fold: foldUpsert },
  { name: 'update, continuous', keyed: true, spec: { mode: 'update', key: jsonSpec(['k', 'id']) }, fold: foldUpsert },
  { name: 'complete', keyed: true, spec: { mode: 'complete', key: jsonSpec(['id']), trigger: { interval: 3 } }, fold: foldComplete },
  { name: 'complete, compacted by key', keyed: true, spec: { mode: 'complete', key: jsonSpec(['id']), trigger: { interval: 3 } }, fold: foldUpsert },
];

const keyedSchema = defineSchema({ id: 'int32', k: 'string', v: 'int64' }, { primaryKey: ['id'] });
const appendSchema = defineSchema({ id: 'int32', k: 'string', v: 'int64' });

export type Operation = { readonly op: 'put'; readonly id: number; readonly k: string; readonly v: bigint } | { readonly op: 'delete'; readonly id: number };

/** Batches of puts (insert or replace by id) and deletes, with a pause after each batch. */
export function operationsArbitrary(keyed: boolean): fc.Arbitrary<{ batch: Operation[]; pauseMs: number }[]> {
  const put = fc.record({ op: fc.constant('put' as const), id: fc.integer({ min: 0, max: 7 }), k: fc.constantFrom('a', 'b', 'c'), v: fc.bigInt({ min: -5n, max: 5n }) });
  const remove = fc.record({ op: fc.constant('delete' as const), id: fc.integer({ min: 0, max: 7 }) });
  const operation: fc.Arbitrary<Operation> = keyed ? fc.oneof(put, put, remove) : put;
  return fc.array(fc.record({ batch: fc.array(operation, { maxLength: 6 }), pauseMs: fc.integer({ min: 0, max: 6 }) }), { maxLength: 8 });
}

export interface CaseRun {
  readonly topic: string;
  readonly kafka: Readonly<Record<string, string>>;
  readonly createWriter: () => RecordWriter;
  readonly read: (topic: string) => Promise<TopicRecord[]>;
}

/** Writes the operations through a sink in the case's mode, then checks what a reader folds. */
export async function runModeCase(modeCase: ModeCase, batches: readonly { batch: readonly Operation[]; pauseMs: number }[], run: CaseRun): Promise<void> {
  const table = inputTable(modeCase.keyed ? keyedSchema : appendSchema);
  const sink = startSink(
    table,
    { name: 'conformance', topic: run.topic, kafka: run.kafka, value: jsonSpec(), ...modeCase.spec },
    { createWriter: run.createWriter },
  );
  for (const { batch, pauseMs } of batches) {
    for (const operation of batch) {
      if (operation.op === 'put') table.add({ id: operation.id, k: operation.k, v: operation.v });
      else table.delete({ id: operation.id });
    }
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  table.close();
  await sink.done;
  const encode = (row: unknown) => JSON.stringify(row, (_key, value: unknown) => (typeof value === 'bigint' ? Number(value) : value));
  const expected = [...table.rows()].map(([, row]) => encode(row)).sort();
  const records = await run.read(run.topic);
  assert.ok(keysStayOnOnePartition(records), `${modeCase.name}: a key's records are spread over partitions`);
  assert.deepEqual(modeCase.fold(records), expected, `${modeCase.name}: the topic does not fold into the table`);
}
