import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, SpillwayError } from '../../src/errors.ts';
import { defineSchema, formatIsoTimestamp, normalizeRow, parseIsoTimestamp } from '../../src/model/schema.ts';

const schema = defineSchema({
  id: 'int64',
  n: 'int32',
  price: 'float64',
  name: { type: 'string', nullable: true },
  at: 'timestamp',
  day: 'date',
  amount: 'decimal',
  raw: 'bytes',
  doc: 'json',
  ok: 'boolean',
});

const valid = {
  id: 1n,
  n: 2,
  price: 1.5,
  name: null,
  at: new Date('2024-01-02T03:04:05.678Z'),
  day: '2024-01-02',
  amount: '12.50',
  raw: Buffer.from('x'),
  doc: { a: [1, 'b'] },
  ok: true,
};

describe('schema values', () => {
  it('normalizes a valid row', () => {
    const row = normalizeRow(schema, { ...valid, id: 7 }, 'row 0');
    assert.equal(row.id, 7n);
    assert.equal(row.at, 1704164645678000000n);
    assert.equal(row.name, null);
  });

  const rejects: [string, Record<string, unknown>, RegExp][] = [
    ['int32 out of range', { n: 2 ** 31 }, /column "n" is int32 but got 2147483648 \(number\); expected an integer from -2147483648 to 2147483647/],
    ['int32 fraction', { n: 1.5 }, /column "n" is int32 but got 1\.5 \(number\)/],
    ['int64 unsafe number', { id: 2 ** 60 }, /column "id" is int64 .*expected a bigint within 64 bits/],
    ['string as number', { name: 5 }, /column "name" is string \(nullable\) but got 5 \(number\); expected a string/],
    ['null in non-nullable', { price: null }, /column "price" is float64 but got null; expected a value \(declare \{ type: 'float64', nullable: true \}/],
    ['bad date', { day: '2024-13-45' }, /column "day" is date but got "2024-13-45" \(string\)/],
    ['bad decimal', { amount: '1e5' }, /column "amount" is decimal .*expected a decimal string/],
    ['bad timestamp', { at: 'yesterday' }, /column "at" is timestamp but got "yesterday" \(string\)/],
    ['bytes as string', { raw: 'x' }, /column "raw" is bytes/],
    ['json with a function', { doc: { f: () => 1 } }, /column "doc" is json/],
    ['boolean as string', { ok: 'yes' }, /column "ok" is boolean but got "yes" \(string\); expected true or false/],
  ];
  for (const [title, patch, message] of rejects) {
    it(`rejects ${title}, naming column, type and value`, () => {
      assert.throws(
        () => normalizeRow(schema, { ...valid, ...patch }, 'row 3'),
        (error: unknown) => error instanceof SpillwayError && error.code === ErrorCode.InvalidValue && /^row 3: /.test(error.message) && message.test(error.message),
      );
    });
  }

  it('rejects a field that is not a column, listing the columns', () => {
    assert.throws(() => normalizeRow(schema, { ...valid, extra: 1 }, 'row 1'), {
      code: ErrorCode.UnknownColumn,
      message: /row 1: field "extra" is not a column; the columns are: id, n, price, name, at, day, amount, raw, doc, ok/,
    });
  });

  it('counts inherited fields: a column value from the prototype beside an unknown own field is refused, an inherited non-column field is not one of the row\'s', () => {
    const small = defineSchema({ id: 'int64', name: 'string' });
    const inheritsId = Object.assign(Object.create({ id: 1n }) as Record<string, unknown>, { name: 'a', extra: 1 });
    assert.throws(() => normalizeRow(small, inheritsId, 'row 2'), { code: ErrorCode.UnknownColumn, message: 'row 2: field "extra" is not a column; the columns are: id, name' });
    const inheritsOther = Object.assign(Object.create({ note: 'x' }) as Record<string, unknown>, { id: 2n, name: 'b' });
    assert.deepEqual({ ...normalizeRow(small, inheritsOther, 'row 3') }, { id: 2n, name: 'b' });
  });

  it('normalizes columns whose names are not identifiers, __proto__ included, as own fields', () => {
    const odd = defineSchema(JSON.parse('{"__proto__": "int32", "a \\"quoted\\" }; name": "string", "0": "boolean", "constructor": "float64"}') as never);
    const input = JSON.parse('{"__proto__": 1, "a \\"quoted\\" }; name": "x", "0": true, "constructor": 2.5}') as Record<string, unknown>;
    const row = normalizeRow(odd, input, 'row 0');
    assert.deepEqual(Object.entries(row), [['0', true], ['__proto__', 1], ['a "quoted" }; name', 'x'], ['constructor', 2.5]]);
    assert.equal(Object.getPrototypeOf(row), Object.prototype);
    // An inherited __proto__ is not a field: the column is missing, and must be nullable.
    assert.throws(() => normalizeRow(odd, { 'a "quoted" }; name': 'x', '0': true, constructor: 2.5 }, 'row 1'), /^SpillwayError: row 1: column "__proto__"/);
  });

  it('rejects an unknown column type and a primary key over a missing column', () => {
    assert.throws(() => defineSchema({ a: 'text' as never }), /column "a" has unknown type "text"; use one of boolean, int32/);
    assert.throws(() => defineSchema({ a: 'int32' }, { primaryKey: ['b'] }), {
      code: ErrorCode.UnknownColumn,
      message: 'primary key names "b", which the table lacks; its columns are: a',
    });
  });
});

describe('timestamps', () => {
  it('keeps nanoseconds through ISO-8601 both ways', () => {
    const nanos = parseIsoTimestamp('2024-01-02T03:04:05.123456789Z');
    assert.equal(nanos, 1704164645123456789n);
    assert.equal(formatIsoTimestamp(nanos ?? 0n), '2024-01-02T03:04:05.123456789Z');
    assert.equal(formatIsoTimestamp(1704164645120000000n), '2024-01-02T03:04:05.120Z');
    assert.equal(formatIsoTimestamp(1704164645123400000n), '2024-01-02T03:04:05.1234Z');
    assert.equal(formatIsoTimestamp(-1n), '1969-12-31T23:59:59.999999999Z');
  });
});
