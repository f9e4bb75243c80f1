import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { avg, count, max, min, scaledDouble, sum, unscaledDouble } from '../../src/model/aggregations.ts';
import { defineSchema, type Row } from '../../src/model/schema.ts';
import { inputTable } from '../../src/sources/input-table.ts';
import { newTable } from '../../src/sources/static-table.ts';
import type { Change, RowId, Table } from '../../src/model/table.ts';

function record(table: Table): Change[] {
  const seen: Change[] = [];
  table.subscribe({ onChanges: (batch) => seen.push(...batch) });
  return seen;
}

const rowsOf = (table: Table): Row[] => [...table.rows()].map(([, row]) => row);

const sales = defineSchema(
  {
    id: 'int32',
    region: 'string',
    amount: { type: 'int32', nullable: true },
    big: { type: 'int64', nullable: true },
    price: { type: 'float64', nullable: true },
    cost: { type: 'decimal', nullable: true, scale: 2 },
    day: { type: 'date', nullable: true },
    at: { type: 'timestamp', unit: 'ms', nullable: true },
    label: { type: 'string', nullable: true },
    flag: { type: 'boolean', nullable: true },
    blob: { type: 'bytes', nullable: true },
  },
  { primaryKey: ['id'] },
);

function sale(id: number, region: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, region, amount: null, big: null, price: null, cost: null, day: null, at: null, label: null, flag: null, blob: null, ...fields };
}

describe('aggBy: output schema', () => {
  it('puts the keys first, types each aggregate, and keys the table by the key columns', () => {
    const table = inputTable(sales).aggBy(
      {
        n: count(),
        amounts: count('amount'),
        total: sum('amount'),
        bigTotal: sum('big'),
        priceTotal: sum('price'),
        costTotal: sum('cost'),
        low: min('at'),
        high: max('day'),
        mean: avg('cost'),
      },
      ['region'],
    );
    assert.deepEqual(
      table.schema.columns.map((c) => `${c.name}:${c.type}${c.nullable ? '?' : ''}${c.unit === undefined ? '' : `/${c.unit}`}${c.scale === undefined ? '' : `,${c.scale}`}`),
      ['region:string', 'n:int64', 'amounts:int64', 'total:int64?', 'bigTotal:int64?', 'priceTotal:float64?', 'costTotal:decimal?,2', 'low:timestamp?/ms', 'high:date?', 'mean:float64?'],
    );
    assert.deepEqual(table.schema.primaryKey, ['region']);
    assert.equal(table.appendOnly, false);
  });

  it('makes aggregates of non-nullable columns non-nullable, unless empty groups are kept', () => {
    const source = inputTable(defineSchema({ k: 'string', v: 'int64' }));
    const columns = (keys: string[], preserveEmpty = false) =>
      source.aggBy({ s: sum('v'), m: min('v'), a: avg('v'), n: count() }, keys, { preserveEmpty }).schema.columns.map((c) => `${c.name}${c.nullable ? '?' : ''}`);
    assert.deepEqual(columns(['k']), ['k', 's', 'm', 'a', 'n']);
    assert.deepEqual(columns([]), ['s', 'm', 'a', 'n']);
    assert.deepEqual(columns([], true), ['s?', 'm?', 'a?', 'n']);
    assert.throws(() => source.aggBy({}, [], { keepEmpty: true } as never), /aggBy options: unknown option\(s\) "keepEmpty"; the options are \{ preserveEmpty\?: boolean \}/);
  });

  it('refuses aggregations that do not fit their columns, naming the column and the fix', () => {
    const source = inputTable(sales);
    assert.throws(() => source.aggBy({ s: sum('label') }, ['region']), /aggBy column "s": sum\("label"\) needs a numeric column \(int32, int64, float64 or decimal\) but "label" is string/);
    assert.throws(() => source.aggBy({ a: avg('flag') }), /avg\("flag"\) needs a numeric column .* but "flag" is boolean/);
    assert.throws(() => source.aggBy({ m: max('blob') }), /max\("blob"\): "blob" is bytes, which has no order; min and max take/);
    assert.throws(() => source.aggBy({ m: min('nope') }), /aggBy min\("nope"\) names "nope", which the table lacks; its columns are: id, region/);
    assert.throws(() => source.aggBy({ n: count('nope') }), /aggBy count\("nope"\) names "nope"/);
    assert.throws(() => source.aggBy({ n: count() }, ['nope']), /aggBy keys names "nope", which the table lacks/);
    assert.throws(() => source.aggBy({ region: count() }, ['region']), /aggBy column "region" has the name of a key column; give the aggregation another name/);
    assert.throws(() => source.aggBy({ n: count() }, ['region', 'region']), /aggBy keys name a column twice \(region, region\); list each key column once/);
    assert.throws(
      () => source.aggBy({ n: { kind: 'median', column: 'amount' } as never }),
      /aggBy column "n" is not an aggregation \(.*\); use count\(\), count\(column\), sum\(column\), avg\(column\), min\(column\) or max\(column\)/,
    );
  });
});

describe('aggBy: aggregators', () => {
  it('count, sum, avg, min and max over int32, with exact int64 sums', () => {
    const source = inputTable(sales);
    const agg = source.aggBy({ n: count(), total: sum('amount'), low: min('amount'), high: max('amount'), mean: avg('amount') }, ['region']);
    source.add([sale(1, 'east', { amount: 10 }), sale(2, 'east', { amount: 4 }), sale(3, 'west', { amount: 2_000_000_000 }), sale(4, 'west', { amount: 2_000_000_000 })]);
    assert.deepEqual(rowsOf(agg), [
      { region: 'east', n: 2n, total: 14n, low: 4, high: 10, mean: 7 },
      { region: 'west', n: 2n, total: 4_000_000_000n, low: 2_000_000_000, high: 2_000_000_000, mean: 2_000_000_000 },
    ]);
  });

  it('sums int64 beyond 2^53 exactly and reports a sum beyond int64 with the fix', () => {
    const source = inputTable(sales);
    const agg = source.aggBy({ total: sum('big') }, ['region']);
    source.add([sale(1, 'a', { big: 2n ** 62n + 1n }), sale(2, 'a', { big: 2n ** 61n + 3n })]);
    assert.deepEqual(rowsOf(agg), [{ region: 'a', total: 2n ** 62n + 2n ** 61n + 4n }]);
    assert.throws(() => source.add(sale(3, 'a', { big: 2n ** 62n })), new RegExp(`aggBy column "total": sum\\("big"\\) is ${2n ** 63n + 2n ** 61n + 4n}, beyond int64; sum a decimal copy of the column instead \\(update\\(\\{ bigExact: \\{ type: 'decimal', formula: \\(row\\) => row\\.big \\} \\}\\)\\)`));
  });

  it('sums decimals exactly at the largest scale present', () => {
    const source = inputTable(sales);
    const agg = source.aggBy({ total: sum('cost'), mean: avg('cost') }, ['region']);
    source.add([sale(1, 'a', { cost: '0.10' }), sale(2, 'a', { cost: '0.2' }), sale(3, 'a', { cost: '-1' })]);
    assert.deepEqual(rowsOf(agg), [{ region: 'a', total: '-0.70', mean: -0.7 / 3 }]);
    source.delete({ id: 1 });
    assert.deepEqual(rowsOf(agg), [{ region: 'a', total: '-0.8', mean: -0.4 }]);
    source.add(sale(4, 'a', { cost: '12345678901234567890.25' }));
    assert.equal(rowsOf(agg)[0]?.total, '12345678901234567889.45');
  });

  it('sums doubles exactly, rounding once, whatever the order of inserts and deletes', () => {
    const source = inputTable(sales);
    const agg = source.aggBy({ total: sum('price') }, ['region']);
    source.add([sale(1, 'a', { price: 0.1 }), sale(2, 'a', { price: 0.2 }), sale(3, 'a', { price: 0.3 })]);
    assert.equal(rowsOf(agg)[0]?.total, 0.6); // left to right in doubles: 0.6000000000000001
    source.delete({ id: 2 });
    assert.equal(rowsOf(agg)[0]?.total, 0.4);
    source.add([sale(4, 'a', { price: 1e20 }), sale(5, 'a', { price: 1 })]);
    source.delete([{ id: 4 }, { id: 1 }, { id: 3 }]);
    assert.equal(rowsOf(agg)[0]?.total, 1); // a running double total would have lost the 1 to 1e20
    source.add(sale(6, 'a', { price: Infinity }));
    assert.equal(rowsOf(agg)[0]?.total, Infinity);
    source.add(sale(7, 'a', { price: -Infinity }));
    assert.ok(Number.isNaN(rowsOf(agg)[0]?.total));
    source.delete({ id: 6 });
    assert.equal(rowsOf(agg)[0]?.total, -Infinity);
  });

  it('orders min and max by type: dates, timestamps, strings, booleans, decimals, doubles with NaN highest', () => {
    const source = inputTable(sales);
    const agg = source.aggBy(
      { d0: min('day'), d1: max('day'), t0: min('at'), t1: max('at'), s0: min('label'), s1: max('label'), b0: min('flag'), b1: max('flag'), c0: min('cost'), c1: max('cost'), p0: min('price'), p1: max('price') },
      ['region'],
    );
    source.add([
      sale(1, 'a', { day: '2024-02-01', at: 5n, label: 'b', flag: true, cost: '9.5', price: Number.NaN }),
      sale(2, 'a', { day: '2023-12-31', at: 7n, label: 'B', flag: false, cost: '10', price: -Infinity }),
      sale(3, 'a', { day: '2024-01-15', at: -1n, label: 'ab', flag: true, cost: '-0.01', price: 3 }),
    ]);
    assert.deepEqual(rowsOf(agg), [
      {
        region: 'a', d0: '2023-12-31', d1: '2024-02-01', t0: -1_000_000n, t1: 7_000_000n, s0: 'B', s1: 'b',
        b0: false, b1: true, c0: '-0.01', c1: '10', p0: -Infinity, p1: Number.NaN,
      },
    ]);
  });

  it('ignores nulls, and reports null for sum, avg, min and max of no values', () => {
    const source = inputTable(sales);
    const agg = source.aggBy({ n: count(), amounts: count('amount'), total: sum('amount'), mean: avg('price'), low: min('label'), high: max('cost') }, ['region']);
    source.add([sale(1, 'a'), sale(2, 'a', { amount: 5 }), sale(3, 'b')]);
    assert.deepEqual(rowsOf(agg), [
      { region: 'a', n: 2n, amounts: 1n, total: 5n, mean: null, low: null, high: null },
      { region: 'b', n: 1n, amounts: 0n, total: null, mean: null, low: null, high: null },
    ]);
  });
});

describe('aggBy: groups over time', () => {
  it('inserts a group with its first row, updates it, and deletes it with its last row', () => {
    const source = inputTable(sales);
    const agg = source.aggBy({ n: count(), total: sum('amount') }, ['region']);
    const changes = record(agg);
    source.add([sale(1, 'east', { amount: 1 }), sale(2, 'east', { amount: 2 })]);
    source.add(sale(3, 'west', { amount: 3 }));
    source.delete({ id: 1 });
    source.delete({ id: 2 });
    assert.deepEqual(
      changes.map((c) => [c.kind, c.id, c.kind === 'update' ? [c.before, c.row] : c.row]),
      [
        ['insert', 'string:east', { region: 'east', n: 2n, total: 3n }],
        ['insert', 'string:west', { region: 'west', n: 1n, total: 3n }],
        ['update', 'string:east', [{ region: 'east', n: 2n, total: 3n }, { region: 'east', n: 1n, total: 2n }]],
        ['delete', 'string:east', { region: 'east', n: 1n, total: 2n }],
      ],
    );
    assert.deepEqual(rowsOf(agg), [{ region: 'west', n: 1n, total: 3n }]);
  });

  it('changes both groups when an update moves a row between them', () => {
    const source = inputTable(sales);
    source.add([sale(1, 'east', { amount: 1 }), sale(2, 'east', { amount: 2 }), sale(3, 'west', { amount: 3 })]);
    const agg = source.aggBy({ n: count(), total: sum('amount') }, ['region']);
    const changes = record(agg);
    source.add(sale(2, 'west', { amount: 2 }));
    assert.deepEqual(
      changes.map((c) => [c.kind, c.row]),
      [['update', { region: 'east', n: 1n, total: 1n }], ['update', { region: 'west', n: 2n, total: 5n }]],
    );
    source.add(sale(1, 'north', { amount: 1 }));
    assert.deepEqual(changes.slice(2).map((c) => [c.kind, c.row]), [['delete', { region: 'east', n: 1n, total: 1n }], ['insert', { region: 'north', n: 1n, total: 1n }]]);
  });

  it('emits nothing when a change leaves the aggregate row as it was', () => {
    const source = inputTable(sales);
    const agg = source.aggBy({ n: count(), total: sum('amount'), high: max('amount') }, ['region']);
    source.add([sale(1, 'a', { amount: 5 }), sale(2, 'a', { amount: 5 })]);
    const changes = record(agg);
    source.add(sale(1, 'a', { amount: 5, label: 'renamed' }));
    source.add([sale(3, 'a', { amount: 7 }), sale(3, 'a', { amount: 7 })]);
    source.delete({ id: 3 });
    source.add([sale(3, 'a', { amount: 1 })]);
    source.delete({ id: 3 });
    assert.deepEqual(changes.map((c) => [c.kind, c.row.n, c.row.high]), [['update', 3n, 7], ['update', 2n, 5], ['update', 3n, 5], ['update', 2n, 5]]);
    // n changed each time; a change of a column no aggregate reads changed nothing.
    source.add(sale(2, 'a', { amount: 5, label: 'x' }));
    assert.equal(changes.length, 4);
  });

  it('falls back to the next extreme when the current min or max is deleted, counting duplicates', () => {
    const source = inputTable(sales);
    const agg = source.aggBy({ low: min('amount'), high: max('amount') }, ['region']);
    source.add([1, 9, 9, 5, 1, 3].map((amount, index) => sale(index, 'a', { amount })));
    const extremes = () => rowsOf(agg).map((row) => [row.low, row.high])[0];
    assert.deepEqual(extremes(), [1, 9]);
    source.delete({ id: 1 }); // one of two 9s
    assert.deepEqual(extremes(), [1, 9]);
    source.delete({ id: 2 });
    assert.deepEqual(extremes(), [1, 5]);
    source.delete([{ id: 0 }, { id: 4 }]);
    assert.deepEqual(extremes(), [3, 5]);
    source.add(sale(1, 'a', { amount: 9 }));
    assert.deepEqual(extremes(), [3, 9]);
  });

  it('keeps min and max right through long churn of distinct values (compacting dead entries)', () => {
    const source = inputTable(sales);
    const agg = source.aggBy({ low: min('amount'), high: max('amount') }, ['region']);
    const live = new Map<number, number>();
    let seed = 7;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    for (let step = 0; step < 600; step++) {
      const id = next() % 60;
      if (live.has(id) && next() % 3 === 0) {
        source.delete({ id });
        live.delete(id);
      } else {
        const amount = (next() % 1000) - 500;
        source.add(sale(id, 'a', { amount }));
        live.set(id, amount);
      }
      const values = [...live.values()];
      assert.deepEqual(rowsOf(agg), values.length === 0 ? [] : [{ region: 'a', low: Math.min(...values), high: Math.max(...values) }], `step ${step}`);
    }
  });

  it('without keys has one row for the whole table while it has rows', () => {
    const source = inputTable(sales);
    const agg = source.aggBy({ n: count(), total: sum('amount'), low: min('amount') });
    assert.deepEqual(rowsOf(agg), []);
    assert.deepEqual(agg.schema.primaryKey, []);
    const changes = record(agg);
    source.add([sale(1, 'a', { amount: 4 }), sale(2, 'b', { amount: 6 })]);
    source.delete({ id: 1 });
    source.delete({ id: 2 });
    assert.deepEqual(
      changes.map((c) => [c.kind, c.row]),
      [['insert', { n: 2n, total: 10n, low: 4 }], ['update', { n: 1n, total: 6n, low: 6 }], ['delete', { n: 1n, total: 6n, low: 6 }]],
    );
  });

  it('with preserveEmpty keeps the global row from the start, and keyed groups after their last row', () => {
    const source = inputTable(sales);
    const global = source.aggBy({ n: count(), total: sum('amount') }, [], { preserveEmpty: true });
    const byRegion = source.aggBy({ n: count(), total: sum('amount') }, ['region'], { preserveEmpty: true });
    assert.deepEqual(rowsOf(global), [{ n: 0n, total: null }]);
    const changes = record(global);
    const regionChanges = record(byRegion);
    source.add([sale(1, 'a', { amount: 4 }), sale(2, 'b', { amount: 6 })]);
    source.delete([{ id: 1 }, { id: 2 }]);
    assert.deepEqual(changes.map((c) => [c.kind, c.row]), [['update', { n: 2n, total: 10n }], ['update', { n: 0n, total: null }]]);
    assert.deepEqual(regionChanges.map((c) => c.kind), ['insert', 'insert', 'update', 'update']);
    assert.deepEqual(rowsOf(byRegion), [{ region: 'a', n: 0n, total: null }, { region: 'b', n: 0n, total: null }]);
  });

  it('starts from the snapshot of an ended static table and ends with it', () => {
    const table = newTable(defineSchema({ k: 'string', v: 'float64' }), [{ k: 'x', v: 1.5 }, { k: 'y', v: 2 }, { k: 'x', v: 0.5 }]);
    const agg = table.where((row) => row.v !== 2).aggBy({ total: sum('v'), n: count() }, ['k']);
    assert.deepEqual(rowsOf(agg), [{ k: 'x', total: 2, n: 2n }]);
    assert.equal(agg.ended, true);
  });
});

describe('aggBy: exact double sums', () => {
  it('scales every finite double to an exact bigint and back', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => Object.is(unscaledDouble(scaledDouble(value)), value === 0 ? 0 : value)),
      { numRuns: 2000 },
    );
    assert.equal(unscaledDouble(scaledDouble(Number.MIN_VALUE)), Number.MIN_VALUE);
    assert.equal(unscaledDouble(scaledDouble(Number.MAX_VALUE) * 2n), Infinity);
  });

  it('rounds a sum of two doubles exactly as IEEE-754 addition does', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.double({ noNaN: true, noDefaultInfinity: true }), (a, b) => {
        const expected = a + b;
        const actual = unscaledDouble(scaledDouble(a) + scaledDouble(b));
        return expected === 0 ? actual === 0 : actual === expected;
      }),
      { numRuns: 2000 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Property: after any sequence of input batches, the aggregate table equals a from-scratch
// aggregation of the input's current rows, and so does a replay of the changes it emitted.

const propertySchema = defineSchema(
  {
    id: 'int32',
    region: { type: 'string', nullable: true },
    flag: 'boolean',
    amount: { type: 'int64', nullable: true },
    price: { type: 'float64', nullable: true },
    cost: { type: 'decimal', nullable: true },
    name: { type: 'string', nullable: true },
  },
  { primaryKey: ['id'] },
);

const propertyAggregations = {
  n: count(),
  amounts: count('amount'),
  total: sum('amount'),
  prices: sum('price'),
  costs: sum('cost'),
  low: min('amount'),
  high: max('price'),
  first: min('name'),
  last: max('name'),
  costHigh: max('cost'),
  mean: avg('amount'),
  meanPrice: avg('price'),
};

type InputRow = { id: number; region: string | null; flag: boolean; amount: bigint | null; price: number | null; cost: string | null; name: string | null };
type Command = { add: InputRow[] } | { delete: number[] };

const inputRow = fc.record({
  id: fc.integer({ min: 0, max: 9 }),
  region: fc.constantFrom('east', 'west', 'north', null),
  flag: fc.boolean(),
  amount: fc.option(fc.bigInt({ min: -(2n ** 40n), max: 2n ** 40n }), { freq: 4 }),
  // Quarters add exactly in any order, so the reference may sum them left to right.
  price: fc.option(fc.integer({ min: -400, max: 400 }).map((quarters) => quarters / 4), { freq: 4 }),
  cost: fc.option(fc.tuple(fc.integer({ min: -9999, max: 9999 }), fc.integer({ min: 0, max: 3 })).map(([unscaled, scale]) => decimalText(BigInt(unscaled), scale)), { freq: 4 }),
  name: fc.option(fc.constantFrom('ant', 'bee', 'Cat', 'dog', 'ému'), { freq: 4 }),
});

const commands = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.array(inputRow, { minLength: 1, maxLength: 4 }).map((rows): Command => ({ add: rows })) },
    { weight: 1, arbitrary: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 3 }).map((ids): Command => ({ delete: ids.map((id) => id) })) },
  ),
  { maxLength: 15 },
);

function decimalText(unscaled: bigint, scale: number): string {
  const digits = (unscaled < 0n ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return unscaled < 0n ? `-${text}` : text;
}

/**
 * The aggregation of `rows`, computed from scratch the obvious way; `emptyGroups` holds the key
 * values of groups kept without rows (every group ever seen, with preserveEmpty).
 */
function aggregateFromScratch(rows: readonly Row[], keys: readonly string[], emptyGroups: readonly Row[]): Row[] {
  const groups = new Map<string, { keyRow: Row; members: Row[] }>();
  for (const keyRow of emptyGroups) groups.set(JSON.stringify(keys.map((key) => keyRow[key])), { keyRow, members: [] });
  for (const row of rows) {
    const id = JSON.stringify(keys.map((key) => row[key]));
    const group = groups.get(id) ?? { keyRow: row, members: [] };
    group.members.push(row);
    groups.set(id, group);
  }
  return [...groups.values()].map(({ keyRow, members }) => {
    const values = (column: string) => members.map((row) => row[column] ?? null).filter((value) => value !== null);
    const amounts = values('amount') as bigint[];
    const prices = values('price') as number[];
    const costs = values('cost') as string[];
    const names = values('name') as string[];
    const scale = Math.max(0, ...costs.map((cost) => (cost.includes('.') ? cost.length - cost.indexOf('.') - 1 : 0)));
    const costUnits = costs.map((cost) => {
      const [whole = '', fraction = ''] = cost.replace('-', '').split('.');
      const units = BigInt(whole + fraction.padEnd(scale, '0'));
      return cost.startsWith('-') ? -units : units;
    });
    const amountTotal = amounts.reduce((a, b) => a + b, 0n);
    const priceTotal = prices.reduce((a, b) => a + b, 0);
    const pick = <T>(list: T[], better: (a: T, b: T) => boolean): T | null => (list.length === 0 ? null : list.reduce((a, b) => (better(b, a) ? b : a)));
    const costNumber = (cost: string) => Number(cost);
    return {
      ...Object.fromEntries(keys.map((key) => [key, keyRow[key] ?? null])),
      n: BigInt(members.length),
      amounts: BigInt(amounts.length),
      total: amounts.length === 0 ? null : amountTotal,
      prices: prices.length === 0 ? null : priceTotal,
      costs: costs.length === 0 ? null : decimalText(costUnits.reduce((a, b) => a + b, 0n), scale),
      low: pick(amounts, (a, b) => a < b),
      high: pick(prices, (a, b) => a > b),
      first: pick(names, (a, b) => a < b),
      last: pick(names, (a, b) => a > b),
      costHigh: pick(costs, (a, b) => costNumber(a) > costNumber(b)),
      mean: amounts.length === 0 ? null : Number(amountTotal) / amounts.length,
      meanPrice: prices.length === 0 ? null : priceTotal / prices.length,
    };
  });
}

/** Folds a change stream by row id, failing on a retraction that does not match what it holds. */
function replay(start: ReadonlyMap<RowId, Row>, changes: readonly Change[]): Map<RowId, Row> {
  const state = new Map(start);
  for (const change of changes) {
    const held = state.get(change.id);
    if (change.kind === 'insert') {
      assert.equal(held, undefined, `insert of ${String(change.id)}, which is already there`);
      state.set(change.id, change.row);
    } else if (change.kind === 'update') {
      assert.deepEqual(change.before, held, `update of ${String(change.id)} from a row it did not hold`);
      assert.notDeepEqual(change.before, change.row, `an update of ${String(change.id)} that changes nothing`);
      state.set(change.id, change.row);
    } else {
      assert.deepEqual(change.row, held, `delete of ${String(change.id)} with a row it did not hold`);
      state.delete(change.id);
    }
  }
  return state;
}

/**
 * Rows in group order, the decimal maximum by value: among equal decimals written at different
 * scales ('241' and '241.0') either one is the maximum, and which the aggregation keeps depends
 * on the order rows came and went.
 */
const sortRows = (rows: Iterable<Row>): Row[] =>
  [...rows].map((row) => (row.costHigh === undefined || row.costHigh === null ? row : { ...row, costHigh: Number(row.costHigh) })).sort((a, b) => {
    const x = JSON.stringify([a.region, a.flag]);
    const y = JSON.stringify([b.region, b.flag]);
    return x < y ? -1 : x > y ? 1 : 0;
  });

describe('aggBy: property', () => {
  const cases: [string[], boolean][] = [[['region'], false], [[], false], [['region', 'flag'], false], [[], true], [['region'], true]];
  for (const [keys, preserveEmpty] of cases) {
    it(`equals a from-scratch aggregation after every batch, and so does its replayed change stream (keys: [${keys.join(', ')}], preserveEmpty: ${preserveEmpty})`, () => {
      fc.assert(
        fc.property(commands, (steps) => {
          const source = inputTable(propertySchema);
          const agg = source.aggBy(propertyAggregations, keys, { preserveEmpty });
          const start = new Map(agg.rows());
          const changes = record(agg);
          const seenGroups: Row[] = keys.length === 0 ? [{}] : [];
          for (const step of steps) {
            if ('add' in step) source.add(step.add);
            else source.delete(step.delete.map((id) => ({ id })));
            if ('add' in step && keys.length > 0) seenGroups.push(...step.add);
            const expected = sortRows(aggregateFromScratch(rowsOf(source), keys, preserveEmpty ? seenGroups : []));
            assert.deepEqual(sortRows(rowsOf(agg)), expected);
            assert.deepEqual(sortRows(replay(start, changes).values()), expected);
          }
        }),
        { numRuns: 200 },
      );
    });
  }
});
