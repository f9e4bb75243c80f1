/**
 * Keys and values that encoders give as text are written as bytes a batch at once (one buffer
 * for an ASCII batch, a Buffer each otherwise): the records must be byte for byte what each
 * encoder's own `encode` gives, and be partitioned by those bytes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEncoder, csvSpec, jsonSpec, keyValueSpecSchema, simpleSpec } from '../../src/formats/key-value-spec.ts';
import { MemoryWriter } from '../../src/kafka/memory-writer.ts';
import { javaKeyPartition } from '../../src/kafka/murmur2.ts';
import type { KafkaRecord } from '../../src/kafka/record-writer.ts';
import { type Row, defineSchema, normalizeRow } from '../../src/model/schema.ts';
import { inputTable } from '../../src/sources/input-table.ts';
import { newTable } from '../../src/sources/static-table.ts';
import { startSink } from '../../src/sink/sink.ts';

const schema = defineSchema({ id: 'int32', name: { type: 'string', nullable: true }, note: 'string' });
const PARTITIONS = 5;

async function written(rows: Record<string, unknown>[], spec: Record<string, unknown>): Promise<KafkaRecord[]> {
  const writer = new MemoryWriter({ partitions: PARTITIONS });
  const sink = startSink(newTable(schema, rows), { name: 'texts', topic: 'out', kafka: { 'bootstrap.servers': '127.0.0.1:9' }, ...spec }, { createWriter: () => writer });
  await sink.done;
  return (writer.topics.get('out') ?? []).flat();
}

const idOf = (record: KafkaRecord): number => (JSON.parse(String(record.value)) as { id: number }).id;
const byId = (records: KafkaRecord[]) => records.sort((a, b) => idOf(a) - idOf(b));

const ascii = Array.from({ length: 50 }, (_, id) => ({ id, name: `sensor-${id}`, note: 'plain' }));

describe('keys and values written as text, a batch at once', () => {
  for (const [label, rows] of [
    ['an ASCII batch', ascii],
    ['a batch with one non-ASCII value', ascii.map((row) => (row.id === 7 ? { ...row, note: 'naïve ☃ 𝄞' } : row))],
    ['a batch with one non-ASCII key and null keys', ascii.map((row) => (row.id === 3 ? { ...row, name: 'zürich' } : row.id % 10 === 0 ? { ...row, name: null } : row))],
  ] as const) {
    it(`gives each record its encoder's bytes and partitions it by its key: ${label}`, async () => {
      const keySpec = simpleSpec('name');
      const valueSpec = jsonSpec();
      const records = byId(await written([...rows], { key: keySpec, value: valueSpec }));
      const keys = createEncoder(keyValueSpecSchema.parse(keySpec), schema, 'key');
      const values = createEncoder(keyValueSpecSchema.parse(valueSpec), schema, 'value');
      assert.equal(records.length, rows.length);
      for (const [index, record] of records.entries()) {
        const row: Row = normalizeRow(schema, rows[index] as Record<string, unknown>, 'test');
        assert.deepEqual(record.key, keys.encode(row), `key of row ${index}`);
        assert.deepEqual(record.value, values.encode(row), `value of row ${index}`);
        if (record.key !== null) assert.equal(record.partition, javaKeyPartition(record.key, PARTITIONS), `partition of row ${index}`);
      }
      assert.equal(records.find((record) => idOf(record) === 7)?.value?.toString('utf8'), JSON.stringify(normalizeRow(schema, rows[7] as Record<string, unknown>, 'test')));
    });
  }

  it('gives an upsert sink\'s records (keys compared as text) their encoder\'s key bytes, non-ASCII keys included', async () => {
    const rows = ascii.map((row) => (row.id === 3 ? { ...row, name: 'zürich' } : row));
    const records = byId(await written(rows, { mode: 'upsert', key: simpleSpec('name'), value: jsonSpec() }));
    const keys = createEncoder(keyValueSpecSchema.parse(simpleSpec('name')), schema, 'key');
    assert.deepEqual(
      records.map((record) => record.key),
      rows.map((row) => keys.encode(normalizeRow(schema, row, 'test'))),
    );
    for (const record of records) assert.equal(record.partition, javaKeyPartition(record.key as Buffer, PARTITIONS));
  });

  it('partitions by partitionBy columns, not the key, when given; CSV values as text too', async () => {
    const rows = ascii.slice(0, 20);
    const records = await written(rows, { key: simpleSpec('name'), value: jsonSpec(), partitionBy: ['note'] });
    // One value of `note`: one partition for all, whatever the keys.
    assert.equal(new Set(records.map((record) => record.partition)).size, 1);
    const csv = await written(rows, { key: simpleSpec('name'), value: csvSpec() });
    assert.deepEqual(
      csv.map((record) => record.value?.toString()).sort(),
      rows.map((row) => `${row.id},${row.name},${row.note}`).sort(),
    );
  });

  it('writes a retract sink\'s changes (inserts, updates as delete and insert, deletes) from the batch text, each value its row', async () => {
    const keyed = defineSchema({ id: 'int32', name: { type: 'string', nullable: true }, note: 'string' }, { primaryKey: ['id'] });
    const table = inputTable(keyed);
    const writer = new MemoryWriter({ partitions: PARTITIONS });
    const sink = startSink(table, { name: 'retract-texts', topic: 'out', mode: 'retract', key: simpleSpec('id'), value: jsonSpec(), kafka: { 'bootstrap.servers': '127.0.0.1:9' } }, { createWriter: () => writer });
    const first = ascii.slice(0, 10);
    table.add(first);
    table.add([{ id: 2, name: 'renamed', note: 'naïve' }, { id: 11, name: null, note: 'new' }]);
    table.delete([{ id: 4 }, { id: 11 }]);
    table.close();
    await sink.done;
    const records = (writer.topics.get('out') ?? []).flat();
    const values = createEncoder(keyValueSpecSchema.parse(jsonSpec()), keyed, 'value');
    const kind = (record: KafkaRecord) => record.headers?.find((header) => header.key === 'change-kind')?.value.toString();
    const expected = [
      ...first.map((row) => ['insert', row] as const),
      ['delete', first[2]],
      ['insert', { id: 2, name: 'renamed', note: 'naïve' }],
      ['insert', { id: 11, name: null, note: 'new' }],
      ['delete', first[4]],
      ['delete', { id: 11, name: null, note: 'new' }],
    ] as const;
    // One partition per key keeps each key's order; across keys, sort by what was expected.
    const seen = records.map((record) => `${kind(record)} ${String(record.value)}`).sort();
    assert.deepEqual(seen, expected.map(([op, row]) => `${op} ${String(values.encode(normalizeRow(keyed, row as Record<string, unknown>, 'test')))}`).sort());
  });
});
