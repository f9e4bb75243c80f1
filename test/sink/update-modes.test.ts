/**
 * Update modes against the in-memory writer: the conformance suite over many random change
 * sequences, and the combinations each mode refuses when the sink is built.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ErrorCode } from '../../src/errors.ts';
import { KeyValueSpec, jsonSpec, simpleSpec } from '../../src/formats/key-value-spec.ts';
import { MemoryWriter } from '../../src/kafka/memory-writer.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { inputTable } from '../../src/sources/input-table.ts';
import { newTable } from '../../src/sources/static-table.ts';
import type { Table } from '../../src/model/table.ts';
import { startSink } from '../../src/sink/sink.ts';
import { fromKafkaRecords } from '../helpers/changelog-fold.ts';
import { modeCases, operationsArbitrary, runModeCase } from './update-mode-cases.ts';

describe('update mode conformance (in-memory writer)', () => {
  for (const modeCase of modeCases) {
    it(`${modeCase.name}: the topic folds into the table`, async () => {
      await fc.assert(
        fc.asyncProperty(operationsArbitrary(modeCase.keyed), async (batches) => {
          const writer = new MemoryWriter({ partitions: 3 });
          await runModeCase(modeCase, batches, {
            topic: 'out',
            kafka: { 'bootstrap.servers': '127.0.0.1:9' },
            createWriter: () => writer,
            read: (topic) => Promise.resolve(fromKafkaRecords(writer.records(topic))),
          });
        }),
        { numRuns: 40 },
      );
    });
  }
});

const keyed = () => {
  const table = inputTable(defineSchema({ id: 'int32', v: 'string' }, { primaryKey: ['id'] }));
  table.add([{ id: 1, v: 'a' }, { id: 2, v: 'b' }]);
  return table;
};

function build(table: Table, spec: Record<string, unknown>) {
  const writer = new MemoryWriter();
  const sink = startSink(table, { name: 'modes', topic: 'out', kafka: { 'bootstrap.servers': '127.0.0.1:9' }, value: jsonSpec(), ...spec }, { createWriter: () => writer });
  return { sink, writer };
}

describe('update modes refuse what they cannot write', () => {
  it('append on a table that updates and deletes', () => {
    assert.throws(() => build(keyed(), { mode: 'append' }), {
      code: ErrorCode.IncompatibleMode,
      message:
        'sink "modes": update mode "append" cannot express a removal or an update, and this table updates or deletes rows; choose "upsert" or "retract", or set dropRetractions: true to write inserts only',
    });
  });

  it('upsert and update without a key', () => {
    for (const mode of ['upsert', 'update']) {
      assert.throws(() => build(keyed(), { mode, trigger: { interval: 10 } }), {
        code: ErrorCode.IncompatibleMode,
        message: `sink "modes": update mode "${mode}" needs a record key, but the key spec is IGNORE; give a key spec over the table's primary key (for example simpleSpec or jsonSpec of its key columns)`,
      });
    }
  });

  it('upsert with a key that is not unique by construction: accepted while unique, fails when two rows share it', async () => {
    const table = keyed();
    const { sink, writer } = build(table, { mode: 'upsert', key: simpleSpec('v') });
    table.add({ id: 1, v: 'c' });
    table.add({ id: 3, v: 'b' });
    await assert.rejects(sink.done, {
      code: ErrorCode.IncompatibleMode,
      message:
        'sink "modes": the row {"id":3,"v":"b"} has the key "b", which another row already has; in upsert mode a key must name one row, or compaction would lose one of them. Choose key columns that cover the table\'s primary key, or use lastByKeyColumns to keep the last row per key',
    });
    assert.deepEqual(writer.records('out').map((r) => r.key?.toString()), ['a', 'b', 'a', 'c']);
  });

  it('retract with an IGNORE value, complete without micro-batches', () => {
    assert.throws(() => build(keyed(), { mode: 'retract', value: KeyValueSpec.IGNORE }), { code: ErrorCode.IncompatibleMode, message: /update mode "retract" writes inserts and deletes as values, but the value spec is IGNORE/ });
    assert.throws(() => build(keyed(), { mode: 'complete' }), {
      code: ErrorCode.IncompatibleMode,
      message: 'sink "modes": update mode "complete" writes the whole table at each trigger, so it needs micro-batches; set a trigger such as { processingTime: "5 seconds" } or { once: true }',
    });
  });

  it('an unknown mode or a bad trigger, naming the choices', () => {
    assert.throws(() => build(keyed(), { mode: 'upsurt' }), { code: ErrorCode.InvalidConfig, message: /mode: Invalid option: expected one of "append"\|"retract"\|"upsert"\|"complete"\|"update"/ });
    assert.throws(() => build(keyed(), { trigger: { interval: 'soon' } }), { code: ErrorCode.InvalidConfig, message: /trigger: "soon" is not a positive duration; write milliseconds \(5000\), an interval \("5 seconds"/ });
  });
});

describe('update modes', () => {
  it('uses append for tables that only grow and upsert for the others', async () => {
    assert.equal(build(newTable(defineSchema({ v: 'int32' }), []), {}).sink.mode, 'append');
    const { sink } = build(keyed(), { key: simpleSpec('id') });
    assert.equal(sink.mode, 'upsert');
    await sink.stop();
  });

  it('append with dropRetractions writes inserts and counts what it dropped', async () => {
    const table = keyed();
    const { sink, writer } = build(table, { mode: 'append', dropRetractions: true });
    table.add({ id: 1, v: 'c' });
    table.delete({ id: 2 });
    table.add({ id: 3, v: 'd' });
    table.close();
    await sink.done;
    assert.deepEqual(writer.records('out').map((r) => r.value?.toString()), ['{"id":1,"v":"a"}', '{"id":2,"v":"b"}', '{"id":3,"v":"d"}']);
    assert.equal(sink.metrics.dropped, 2);
  });

  it('retract splits an update into a delete of the old row and an insert of the new', async () => {
    const table = keyed();
    const { sink, writer } = build(table, { mode: 'retract', snapshot: false });
    table.add({ id: 1, v: 'c' });
    table.close();
    await sink.done;
    assert.deepEqual(
      writer.records('out').map((r) => [r.value?.toString(), r.headers?.map((h) => `${h.key}=${h.value.toString()}`).join()]),
      [['{"id":1,"v":"a"}', 'change-kind=delete'], ['{"id":1,"v":"c"}', 'change-kind=insert']],
    );
  });

  it('micro-batches coalesce a key to its last state within an interval', async () => {
    const table = keyed();
    const { sink, writer } = build(table, { mode: 'update', key: simpleSpec('id'), trigger: { interval: 60_000 }, snapshot: false });
    table.add({ id: 1, v: 'c' });
    table.add({ id: 1, v: 'd' });
    table.delete({ id: 2 });
    table.add({ id: 2, v: 'e' });
    table.delete({ id: 2 });
    await sink.stop();
    assert.deepEqual(writer.records('out').map((r) => [r.key?.readInt32BE(), r.value?.toString() ?? null]), [[1, '{"id":1,"v":"d"}'], [2, null]]);
    assert.equal(sink.metrics.triggers, 1);
  });

  it('micro-batches with maxRows are written as soon as that many changes wait, coalesced per key', async () => {
    const table = keyed();
    const { sink, writer } = build(table, { mode: 'upsert', key: simpleSpec('id'), trigger: { interval: 3_600_000, maxRows: 3 }, snapshot: false });
    table.add({ id: 1, v: 'c' });
    table.add({ id: 1, v: 'd' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(writer.records('out').length, 0, 'two changes wait for the interval');
    table.add({ id: 2, v: 'e' });
    const deadline = Date.now() + 5_000;
    while (writer.records('out').length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(writer.records('out').map((r) => r.value?.toString() ?? null), ['{"id":1,"v":"d"}', '{"id":2,"v":"e"}']);
    assert.equal(sink.metrics.triggers, 1);
    table.add({ id: 1, v: 'f' });
    await sink.stop();
    assert.deepEqual(writer.records('out').map((r) => r.value?.toString() ?? null).slice(2), ['{"id":1,"v":"f"}']);
    assert.equal(sink.metrics.triggers, 2);
  });

  it('refuses a maxRows that is not a positive whole number', () => {
    for (const maxRows of [0, 1.5, -1]) {
      assert.throws(() => build(keyed(), { mode: 'upsert', key: simpleSpec('id'), trigger: { interval: 10, maxRows } }), { code: ErrorCode.InvalidConfig, message: /trigger/ });
    }
  });

  it('once writes the table as it is and stops', async () => {
    const table = keyed();
    const { sink, writer } = build(table, { mode: 'complete', key: simpleSpec('id'), trigger: 'once' });
    await sink.done;
    assert.equal(sink.state, 'stopped');
    assert.deepEqual(writer.records('out').map((r) => r.value?.toString()), ['{"id":1,"v":"a"}', '{"id":2,"v":"b"}']);
    assert.deepEqual(writer.records('out').map((r) => r.headers?.map((h) => `${h.key}=${h.value.toString()}`).join()), ['trigger=1', 'trigger=1']);
  });
});
