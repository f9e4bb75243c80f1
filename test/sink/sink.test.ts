/**
 * The sink runtime against the in-memory writer: lifecycle, metrics, error policy and refusals.
 * (The same paths against the real broker are in test/dialects/deephaven.test.ts.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, SpillwayError } from '../../src/errors.ts';
import { KeyValueSpec, jsonSpec, simpleSpec } from '../../src/formats/key-value-spec.ts';
import { MemoryWriter } from '../../src/kafka/memory-writer.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { inputTable } from '../../src/sources/input-table.ts';
import { newTable } from '../../src/sources/static-table.ts';
import type { Table } from '../../src/model/table.ts';
import { startSink } from '../../src/sink/sink.ts';

function sinkOn(table: Table, spec: Record<string, unknown>, writer = new MemoryWriter({ partitions: 3 })) {
  const sink = startSink(
    table,
    { name: 'test', topic: 'out', kafka: { 'bootstrap.servers': '127.0.0.1:9' }, value: jsonSpec(), ...spec },
    { createWriter: () => writer },
  );
  return { sink, writer };
}

describe('sink', () => {
  it('writes a static table and stops by itself, counting rows, records and bytes', async () => {
    const table = newTable(defineSchema({ k: 'string', v: 'int32' }), [{ k: 'a', v: 1 }, { k: 'b', v: 2 }]);
    const { sink, writer } = sinkOn(table, { key: simpleSpec('k') });
    await sink.done;
    assert.equal(sink.state, 'stopped');
    const records = writer.records('out');
    assert.deepEqual(records.map((r) => r.value?.toString()).sort(), ['{"k":"a","v":1}', '{"k":"b","v":2}']);
    assert.deepEqual(sink.metrics, { rows: 2, records: 2, bytes: 2 + 30, errors: 0, queued: 0, dropped: 0, triggers: 1, transactions: 0 });
  });

  it('does not publish the snapshot when told not to', async () => {
    const table = inputTable(defineSchema({ v: 'int32' }));
    table.add({ v: 1 });
    const { sink, writer } = sinkOn(table, { snapshot: false });
    table.add({ v: 2 });
    table.close();
    await sink.done;
    assert.deepEqual(writer.records('out').map((r) => r.value?.toString()), ['{"v":2}']);
  });

  it('tombstones the old key when an update changes the key', async () => {
    const table = inputTable(defineSchema({ id: 'int32', k: 'string' }, { primaryKey: ['id'] }));
    table.add({ id: 1, k: 'a' });
    const { sink, writer } = sinkOn(table, { key: jsonSpec(['k', 'id']) }, new MemoryWriter({ partitions: 1 }));
    table.add({ id: 1, k: 'b' });
    table.close();
    await sink.done;
    assert.deepEqual(writer.records('out').map((r) => [r.key?.toString(), r.value?.toString() ?? null]), [
      ['{"k":"a","id":1}', '{"id":1,"k":"a"}'],
      ['{"k":"a","id":1}', null],
      ['{"k":"b","id":1}', '{"id":1,"k":"b"}'],
    ]);
  });

  it('fails on a row it cannot encode, naming the row and column; skip counts it instead', async () => {
    const schema = defineSchema({ x: 'float64' });
    const failing = sinkOn(newTable(schema, [{ x: 1 }, { x: Number.NaN }]), {}).sink;
    await assert.rejects(failing.done, (error: unknown) => {
      assert.ok(error instanceof SpillwayError);
      assert.equal(error.code, ErrorCode.EncodeFailed);
      assert.equal(error.message, 'sink "test": row 1 cannot be written: column "x" holds NaN, which JSON cannot represent; filter it out or map it to null');
      return true;
    });
    const skipping = sinkOn(newTable(schema, [{ x: 1 }, { x: Number.NaN }, { x: 2 }]), { errorPolicy: 'skip' });
    await skipping.sink.done;
    assert.equal(skipping.sink.metrics.errors, 1);
    assert.equal(skipping.writer.records('out').length, 2);
  });

  it('sends a record larger than message.max.bytes to the error policy', async () => {
    const table = newTable(defineSchema({ s: 'string' }), [{ s: 'x'.repeat(2000) }, { s: 'ok' }]);
    const { sink } = sinkOn(table, { kafka: { 'bootstrap.servers': '127.0.0.1:9', 'message.max.bytes': 1000 } });
    await assert.rejects(sink.done, { code: ErrorCode.EncodeFailed, message: /row 0 cannot be written: a record of 2008 bytes exceeds message\.max\.bytes \(1000\)/ });
  });

  it('fails with the writer\'s error and keeps it for stop()', async () => {
    const writer = new MemoryWriter();
    writer.failNextWrite = new SpillwayError(ErrorCode.DeliveryFailed, 'broker said no');
    const { sink } = sinkOn(newTable(defineSchema({ v: 'int32' }), [{ v: 1 }]), {}, writer);
    await assert.rejects(sink.done, { code: ErrorCode.DeliveryFailed, message: 'broker said no' });
    await assert.rejects(sink.stop(), { message: 'broker said no' });
  });

  it('refuses a changing table with an IGNORE key, and exactly-once without a transactional writer', async () => {
    const keyed = inputTable(defineSchema({ id: 'int32' }, { primaryKey: ['id'] }));
    assert.throws(() => sinkOn(keyed, { key: KeyValueSpec.IGNORE }), {
      code: ErrorCode.IncompatibleMode,
      message: 'sink "test": update mode "upsert" needs a record key, but the key spec is IGNORE; give a key spec over the table\'s primary key (for example simpleSpec or jsonSpec of its key columns)',
    });
    const { sink } = sinkOn(keyed, { key: simpleSpec('id'), delivery: 'exactly-once' });
    await assert.rejects(sink.done, {
      code: ErrorCode.InvalidConfig,
      message: 'sink "test": exactly-once delivery needs a transactional writer and the progress topic\'s log; run it with openSink (the Kafka client), or give runSink both',
    });
  });

  it('writes every record to partition 0 with the fixed partitioner, as Flink does at parallelism 1', async () => {
    const writer = new MemoryWriter({ partitions: 4 });
    const table = newTable(defineSchema({ id: 'int32' }), [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }, { id: 5 }]);
    const sink = startSink(table, { name: 'fixed', topic: 'f', kafka: { 'bootstrap.servers': 'a:1' }, key: { kind: 'json' }, value: { kind: 'json' }, partitioner: 'fixed' }, { createWriter: () => writer });
    await sink.done;
    assert.deepEqual(writer.records('f').map((r) => r.partition), [0, 0, 0, 0, 0]);
  });

  it('refuses transactional.id and transactionalIdPrefix without exactly-once (they would be accepted and ignored)', () => {
    const table = inputTable(defineSchema({ id: 'int32' }));
    const spec = { name: 'tx', topic: 't', kafka: { 'bootstrap.servers': 'a:1' }, value: { kind: 'json' } };
    const open = (extra: object) => () => startSink(table, { ...spec, ...extra }, { createWriter: () => new MemoryWriter() });
    assert.throws(open({ kafka: { 'bootstrap.servers': 'a:1', 'transactional.id': 'tx-1' } }), {
      code: ErrorCode.InvalidConfig,
      message: 'sink "tx": `transactional.id` makes writes transactional, which is exactly-once delivery; set delivery "exactly-once", or remove it',
    });
    assert.throws(open({ transactionalIdPrefix: 'orders' }), {
      code: ErrorCode.InvalidConfig,
      message: 'sink "tx": `transactionalIdPrefix` makes writes transactional, which is exactly-once delivery; set delivery "exactly-once", or remove it',
    });
  });

  it('reports every spec problem at once without mutating the input', () => {
    const spec = Object.freeze({ name: 'bad', topic: '', kafka: {}, value: { kind: 'xml' }, delivery: 'maybe', colour: 'red' });
    assert.throws(() => startSink(inputTable(defineSchema({ v: 'int32' })), spec, { createWriter: () => new MemoryWriter() }), (error: unknown) => {
      assert.ok(error instanceof SpillwayError);
      assert.match(error.message, /^sink "bad" is misconfigured:/);
      assert.match(error.message, /- topic: a topic name/);
      assert.match(error.message, /- value\.kind: /);
      assert.match(error.message, /- delivery: /);
      assert.match(error.message, /unknown option\(s\) "colour"/);
      return true;
    });
  });

  it('stop() on a live table writes what is queued and resolves', async () => {
    const table = inputTable(defineSchema({ v: 'int32' }));
    const { sink, writer } = sinkOn(table, {});
    table.add(Array.from({ length: 100 }, (_x, v) => ({ v })));
    await sink.stop();
    assert.equal(sink.state, 'stopped');
    assert.equal(writer.records('out').length, 100);
    table.add({ v: 1000 });
    assert.equal(writer.records('out').length, 100);
  });
});
