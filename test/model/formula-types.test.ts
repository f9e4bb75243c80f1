/**
 * Column types through the operators: a formula returning a column of its row keeps that column's
 * type (timestamps with their unit, dates, decimals with precision and scale, nullability), and
 * every type survives update, select, lastBy and aggBy. A formula is never called on an invented
 * row: a table without rows asks for declared types.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, SpillwayError } from '../../src/errors.ts';
import { count, max, min } from '../../src/model/aggregations.ts';
import { type Column, type Row, type Schema, defineSchema } from '../../src/model/schema.ts';
import { inputTable } from '../../src/sources/input-table.ts';
import { newTable } from '../../src/sources/static-table.ts';
import { timeTable } from '../../src/sources/time-table.ts';
import type { Table } from '../../src/model/table.ts';

/** One column of every type (and every timestamp unit), with a value that only that type holds. */
const schema = defineSchema({
  bool: 'boolean',
  i32: 'int32',
  i64: 'int64',
  f64: 'float64',
  dec: { type: 'decimal', precision: 10, scale: 2 },
  str: 'string',
  bin: 'bytes',
  day: 'date',
  tsMs: { type: 'timestamp', unit: 'ms' },
  tsUs: { type: 'timestamp', unit: 'us' },
  tsNs: { type: 'timestamp', unit: 'ns' },
  doc: 'json',
  maybe: { type: 'string', nullable: true },
});

const rows = [
  {
    bool: true, i32: 7, i64: 9_007_199_254_740_993n, f64: 2.5, dec: '12.50', str: 'a', bin: new Uint8Array([1, 2]),
    day: '2024-02-29', tsMs: 1_700_000_000_123n, tsUs: 1_700_000_000_123_456n, tsNs: 1_700_000_000_123_456_789n,
    doc: { a: [1, 'x'] }, maybe: null,
  },
  {
    bool: false, i32: -3, i64: -1n, f64: -0.25, dec: '-0.75', str: 'b', bin: new Uint8Array([9]),
    day: '1999-12-31', tsMs: 5n, tsUs: 6n, tsNs: 7n, doc: [], maybe: 'here',
  },
];

/** A column's type, without its name: what must survive. */
function typeOf(column: Column | undefined): Omit<Column, 'name'> | undefined {
  if (column === undefined) return undefined;
  const { name: _name, ...type } = column;
  return type;
}

function columnOf(table: Table | Schema, name: string): Column | undefined {
  const found = ('schema' in table ? table.schema : table).columns.find((column) => column.name === name);
  return found;
}

function currentRows(table: Table): Row[] {
  return [...table.rows()].map(([, row]) => row);
}

const names = schema.columns.map((column) => column.name);

describe('a formula returning a column of its row keeps its type', () => {
  const source = newTable(schema, rows);
  const copies = source.update(Object.fromEntries(names.map((name) => [`c_${name}`, (row: Row) => row[name]])));

  it('update: every type, unit, precision, scale and nullability is carried', () => {
    for (const name of names) assert.deepEqual(typeOf(columnOf(copies, `c_${name}`)), typeOf(columnOf(source, name)), name);
    for (const row of currentRows(copies)) for (const name of names) assert.deepEqual(row[`c_${name}`], row[name], name);
  });

  it('select and lastBy keep the carried types and values', () => {
    const selected = copies.select(names.map((name) => `c_${name}`));
    const last = selected.lastBy(['c_i64']);
    for (const table of [selected, last]) {
      for (const name of names) assert.deepEqual(typeOf(columnOf(table, `c_${name}`)), typeOf(columnOf(source, name)), name);
      assert.deepEqual(
        currentRows(table).map((row) => row.c_tsMs),
        rows.map((row) => row.tsMs * 1_000_000n),
      );
    }
  });

  it('aggBy keeps the type of every key column, and min / max keep the type of their column', () => {
    for (const name of names) {
      const grouped = copies.aggBy({ n: count() }, [`c_${name}`]);
      assert.deepEqual(typeOf(columnOf(grouped, `c_${name}`)), typeOf(columnOf(source, name)), name);
      assert.deepEqual(
        currentRows(grouped).map((row) => row[`c_${name}`]),
        currentRows(copies).map((row) => row[`c_${name}`]),
        name,
      );
    }
    const ordered = names.filter((name) => !['bin', 'doc'].includes(name));
    const extremes = copies.aggBy(
      Object.fromEntries(ordered.flatMap((name) => [[`lo_${name}`, min(`c_${name}`)], [`hi_${name}`, max(`c_${name}`)]])),
    );
    for (const name of ordered) {
      const { nullable: _n, ...expected } = typeOf(columnOf(source, name)) as Column;
      const { nullable: _l, ...low } = typeOf(columnOf(extremes, `lo_${name}`)) as Column;
      const { nullable: _h, ...high } = typeOf(columnOf(extremes, `hi_${name}`)) as Column;
      assert.deepEqual(low, expected, name);
      assert.deepEqual(high, expected, name);
    }
    const [row] = currentRows(extremes);
    assert.equal(row?.lo_tsNs, 7n);
    assert.equal(row?.hi_day, '2024-02-29');
    assert.equal(row?.lo_dec, '-0.75');
  });

  it("a time table's Timestamp copied as _time is a timestamp in nanoseconds, not int64", () => {
    const ticks = timeTable('PT1S');
    const table = ticks.update({ _time: (row) => row.Timestamp, _value: () => 1.5 });
    ticks.close();
    assert.deepEqual(typeOf(columnOf(table, '_time')), { type: 'timestamp', nullable: false, unit: 'ns' });
    const [row] = currentRows(table);
    assert.equal(row?._time, row?.Timestamp);
  });

  it('a copied null keeps the nullable column it came from; a computed value types by itself', () => {
    const table = newTable(schema, rows).update({ again: (row) => row.maybe, later: (row) => (row.tsNs as bigint) + 1n, d: (row) => new Date(Number((row.tsMs as bigint) / 1_000_000n)) });
    assert.deepEqual(typeOf(columnOf(table, 'again')), { type: 'string', nullable: true });
    assert.deepEqual(typeOf(columnOf(table, 'later')), { type: 'int64', nullable: false });
    assert.deepEqual(typeOf(columnOf(table, 'd')), { type: 'timestamp', nullable: false, unit: 'ms' });
    assert.equal(currentRows(table)[0]?.d, 1_700_000_000_123n * 1_000_000n);
  });

  it('the carried type holds for later rows: a live table keeps copying timestamps exactly', () => {
    const live = inputTable(defineSchema({ at: { type: 'timestamp', unit: 'us' }, n: 'int32' }));
    live.add({ at: 10n, n: 1 });
    const copied = live.update({ when: (row) => row.at });
    live.add([{ at: 20n, n: 2 }, { at: '2024-01-01T00:00:00.000001Z', n: 3 }]);
    assert.deepEqual(typeOf(columnOf(copied, 'when')), { type: 'timestamp', nullable: false, unit: 'us' });
    assert.deepEqual(currentRows(copied).map((row) => row.when), [10_000n, 20_000n, 1_704_067_200_000_001_000n]);
    live.close();
  });
});

describe('a formula is never called on a made-up row', () => {
  it('on a table without rows, an undeclared formula is refused before it is called', () => {
    let calls = 0;
    const empty = inputTable(defineSchema({ x: 'float64' }));
    assert.throws(
      () => empty.update({ doubled: (row) => (calls++, (row.x as number) * 2) }),
      (error: unknown) =>
        error instanceof SpillwayError &&
        error.code === ErrorCode.InvalidConfig &&
        error.message.includes('the table has no rows yet, so the type of "doubled" cannot be learned') &&
        error.message.includes("declare it: update({ doubled: { type: 'float64', formula } })"),
    );
    assert.equal(calls, 0);
  });

  it('a declared formula on an empty table is called once per real row, and never before', () => {
    let calls = 0;
    const empty = inputTable(defineSchema({ x: 'float64' }));
    const doubled = empty.update({ doubled: { type: 'float64', formula: (row) => (calls++, (row.x as number) * 2) } });
    assert.equal(calls, 0);
    empty.add([{ x: 1 }, { x: 2.5 }]);
    assert.equal(calls, 2);
    assert.deepEqual(currentRows(doubled).map((row) => row.doubled), [2, 5]);
    empty.close();
  });

  it('on a table with rows, the first row types the column and each formula runs once per row', () => {
    let calls = 0;
    const table = newTable(defineSchema({ x: 'int32' }), [{ x: 1 }, { x: 2 }, { x: 3 }]).update({
      seq: (_row, i) => (calls++, i * 10),
    });
    assert.equal(calls, 3);
    assert.deepEqual(currentRows(table).map((row) => row.seq), [0, 10, 20]);
  });

  it('a formula that returns null on the first row, from no column, asks for a type', () => {
    assert.throws(
      () => newTable(defineSchema({ x: 'int32' }), [{ x: 1 }]).update({ nothing: () => null }),
      /cannot tell the type of column "nothing" from its value null on the first row; declare it/,
    );
  });
});
