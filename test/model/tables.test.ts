import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineSchema, type Row } from '../../src/model/schema.ts';
import { inputTable } from '../../src/sources/input-table.ts';
import { newTable } from '../../src/sources/static-table.ts';
import { timeTable } from '../../src/sources/time-table.ts';
import type { Change, Table } from '../../src/model/table.ts';

function record(table: Table): Change[] {
  const seen: Change[] = [];
  table.subscribe({ onChanges: (batch) => seen.push(...batch) });
  return seen;
}

const rowsOf = (table: Table): Row[] => [...table.rows()].map(([, row]) => row);

describe('sources', () => {
  it('newTable holds its rows and has ended', () => {
    const table = newTable(defineSchema({ a: 'int32' }), [{ a: 1 }, { a: 2 }]);
    assert.deepEqual(rowsOf(table), [{ a: 1 }, { a: 2 }]);
    assert.equal(table.ended, true);
  });

  it('a keyed input table upserts and deletes by key, validating the whole batch first', () => {
    const table = inputTable(defineSchema({ k: 'string', v: 'int32' }, { primaryKey: ['k'] }));
    const changes = record(table);
    table.add([{ k: 'a', v: 1 }, { k: 'b', v: 2 }]);
    table.add({ k: 'a', v: 3 });
    table.delete({ k: 'b' });
    assert.deepEqual(
      changes.map((c) => [c.kind, c.id, c.row]),
      [['insert', 'string:a', { k: 'a', v: 1 }], ['insert', 'string:b', { k: 'b', v: 2 }], ['update', 'string:a', { k: 'a', v: 3 }], ['delete', 'string:b', { k: 'b', v: 2 }]],
    );
    assert.throws(() => table.add([{ k: 'c', v: 1 }, { k: 'd', v: 'x' }]), /add\(\): row 1: column "v" is int32 but got "x"/);
    assert.deepEqual(rowsOf(table), [{ k: 'a', v: 3 }]);
  });

  it('an input table without a key refuses deletes with a fix', () => {
    const table = inputTable(defineSchema({ v: 'int32' }));
    assert.throws(() => table.delete({ v: 1 }), /has no primary key, so rows cannot be deleted; declare one/);
  });

  it('timeTable adds a Timestamp row per period, catching up from its start time', async () => {
    const start = new Date(Date.now() - 1000);
    const table = timeTable('PT0.1S', { startTime: start });
    try {
      assert.ok(table.size >= 10 && table.size <= 12, `size ${table.size}`);
      const first = rowsOf(table)[0];
      assert.equal(first?.Timestamp, BigInt(start.getTime()) * 1_000_000n);
      const before = table.size;
      await new Promise((resolve) => setTimeout(resolve, 350));
      assert.ok(table.size >= before + 2, `grew from ${before} to ${table.size}`);
    } finally {
      table.close();
    }
  });
});

describe('operators', () => {
  it('update adds computed columns with Deephaven\'s i and infers their types', () => {
    const table = newTable(defineSchema({ a: 'int32' }), [{ a: 10 }, { a: 20 }]).update({ X: (_r, i) => i, Y: (r) => `${r.a as number}!` });
    assert.deepEqual(table.schema.columns.map((c) => `${c.name}:${c.type}`), ['a:int32', 'X:int32', 'Y:string']);
    assert.deepEqual(rowsOf(table), [{ a: 10, X: 0, Y: '10!' }, { a: 20, X: 1, Y: '20!' }]);
  });

  it('update rejects a formula value that does not fit the column', () => {
    const source = inputTable(defineSchema({ a: 'int32' }));
    source.update({ X: { type: 'int32', formula: (r) => (r.a as number) * 1.5 } });
    assert.throws(() => source.add({ a: 1 }), /column "X" is int32 but got 1\.5 \(number\)/);
  });

  it('lastBy keeps the last row per key, falling back when the newest is deleted', () => {
    const source = inputTable(defineSchema({ id: 'int32', k: 'string', v: 'int32' }, { primaryKey: ['id'] }));
    const last = source.lastBy(['k']);
    const changes = record(last);
    source.add([{ id: 1, k: 'a', v: 1 }, { id: 2, k: 'a', v: 2 }, { id: 3, k: 'b', v: 3 }]);
    assert.deepEqual(rowsOf(last), [{ id: 2, k: 'a', v: 2 }, { id: 3, k: 'b', v: 3 }]);
    source.delete({ id: 2 });
    assert.deepEqual(rowsOf(last), [{ id: 1, k: 'a', v: 1 }, { id: 3, k: 'b', v: 3 }]);
    source.delete({ id: 3 });
    assert.deepEqual(changes.map((c) => c.kind), ['insert', 'insert', 'update', 'delete']);
    assert.deepEqual(last.schema.primaryKey, ['k']);
  });

  it('lastBy over an append-only table updates in place', () => {
    const source = inputTable(defineSchema({ k: 'int32', v: 'int32' }));
    const last = source.lastBy(['k']);
    const changes = record(last);
    source.add([{ k: 1, v: 1 }, { k: 1, v: 2 }]);
    source.add({ k: 2, v: 3 });
    assert.deepEqual(changes.map((c) => [c.kind, c.row]), [['insert', { k: 1, v: 2 }], ['insert', { k: 2, v: 3 }]]);
    assert.throws(() => source.lastBy(['nope']), /lastBy names "nope", which the table lacks; its columns are: k, v/);
  });

  it('where and select follow updates with retractions', () => {
    const source = inputTable(defineSchema({ id: 'int32', v: 'int32', w: 'string' }, { primaryKey: ['id'] }));
    const big = source.where((r) => (r.v as number) > 5).select(['id', 'v']);
    const changes = record(big);
    source.add({ id: 1, v: 10, w: 'x' });
    source.add({ id: 1, v: 1, w: 'x' });
    source.add({ id: 1, v: 7, w: 'y' });
    source.add({ id: 1, v: 8, w: 'y' });
    assert.deepEqual(changes.map((c) => [c.kind, c.row]), [['insert', { id: 1, v: 10 }], ['delete', { id: 1, v: 10 }], ['insert', { id: 1, v: 7 }], ['update', { id: 1, v: 8 }]]);
  });
});
