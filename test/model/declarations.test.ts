/**
 * Column declarations, in defineSchema() and in update(): every key known, the type one of the
 * column types, and each option one that applies to that type — or refused, naming it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../src/errors.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { newTable } from '../../src/sources/static-table.ts';

const TYPES = 'boolean, int32, int64, float64, decimal, string, bytes, date, timestamp, json';
const KEYS = 'type, nullable, unit (timestamp), precision (timestamp, decimal), scale (decimal)';

describe('defineSchema() column declarations', () => {
  it('keeps the options that apply to each type', () => {
    const schema = defineSchema({
      at: { type: 'timestamp', unit: 'ms', precision: 3, nullable: true },
      amount: { type: 'decimal', precision: 18, scale: 2 },
      name: { type: 'string', nullable: false },
    });
    assert.deepEqual(schema.columns, [
      { name: 'at', type: 'timestamp', nullable: true, unit: 'ms', precision: 3 },
      { name: 'amount', type: 'decimal', nullable: false, precision: 18, scale: 2 },
      { name: 'name', type: 'string', nullable: false },
    ]);
  });

  it('refuses an unknown key, naming the nearest, and a primary key given as a column option', () => {
    assert.throws(() => defineSchema({ id: { type: 'int64', nullabel: true } as never }), {
      code: ErrorCode.InvalidConfig,
      message: `defineSchema(): column "id" has unknown option(s) "nullabel" (did you mean "nullable"?); a column declaration takes ${KEYS}`,
    });
    assert.throws(() => defineSchema({ id: { type: 'int64', primaryKeys: ['id'] } as never }), {
      code: ErrorCode.InvalidConfig,
      message:
        `defineSchema(): column "id" has unknown option(s) "primaryKeys"; a column declaration takes ${KEYS}; ` +
        "a primary key is not a column option: give it as defineSchema(columns, { primaryKey: ['id'] })",
    });
  });

  it('refuses an option that does not apply to the column type, naming the option and the type', () => {
    assert.throws(() => defineSchema({ n: { type: 'int64', unit: 'ms' } }), {
      code: ErrorCode.InvalidConfig,
      message: 'defineSchema(): column "n" is of type int64, which takes no unit: unit applies only to timestamp columns; drop it, or declare the column as timestamp',
    });
    assert.throws(() => defineSchema({ s: { type: 'string', precision: 3 } }), {
      code: ErrorCode.InvalidConfig,
      message:
        'defineSchema(): column "s" is of type string, which takes no precision: precision applies only to timestamp and decimal columns; drop it, or declare the column as timestamp or decimal',
    });
    assert.throws(() => defineSchema({ at: { type: 'timestamp', scale: 3 } }), {
      code: ErrorCode.InvalidConfig,
      message: 'defineSchema(): column "at" is of type timestamp, which takes no scale: scale applies only to decimal columns; drop it, or declare the column as decimal',
    });
  });

  it('refuses option values of the wrong kind, an unknown or missing type, and a declaration that is not one', () => {
    assert.throws(() => defineSchema({ at: { type: 'timestamp', unit: 'sec' } as never }), {
      code: ErrorCode.InvalidConfig,
      message: 'defineSchema(): column "at": unit: Invalid option: expected one of "ms"|"us"|"ns"',
    });
    assert.throws(() => defineSchema({ d: { type: 'decimal', precision: 2.5 } }), {
      code: ErrorCode.InvalidConfig,
      message: 'defineSchema(): column "d": precision: a whole number of digits',
    });
    assert.throws(() => defineSchema({ x: 'float' as never }), {
      code: ErrorCode.InvalidConfig,
      message: `defineSchema(): column "x" has unknown type "float" (did you mean "float64"?); use one of ${TYPES}`,
    });
    assert.throws(() => defineSchema({ x: { nullable: true } as never }), {
      code: ErrorCode.InvalidConfig,
      message: `defineSchema(): column "x" has no type; use one of ${TYPES}`,
    });
    assert.throws(() => defineSchema({ x: null as never }), {
      code: ErrorCode.InvalidConfig,
      message: "defineSchema(): column \"x\" is declared as null; declare it as a type name such as 'int64', or as { type, nullable, unit, precision, scale }",
    });
  });

  it("takes a schema's columns as declarations, their names the keys'", () => {
    const schema = defineSchema({ at: { type: 'timestamp', unit: 'us' }, d: { type: 'decimal', precision: 9, scale: 3 } });
    const again = defineSchema(Object.fromEntries(schema.columns.map((column) => [column.name, column])));
    assert.deepEqual(again, schema);
    assert.throws(() => defineSchema({ price: schema.columns[1] as never }), {
      code: ErrorCode.InvalidConfig,
      message: 'defineSchema(): column "price" is declared with name "d"; a column is named by its key, so declare it under "d" or drop name',
    });
  });

  it("refuses an unknown key in defineSchema()'s options", () => {
    assert.throws(() => defineSchema({ id: 'int64' }, { primaryKeys: ['id'] } as never), {
      code: ErrorCode.InvalidConfig,
      message: 'defineSchema(): unknown option(s) "primaryKeys"; did you mean "primaryKey"? the only option is primaryKey',
    });
  });
});

describe('update() column declarations', () => {
  const parent = () => newTable(defineSchema({ n: 'int32' }), [{ n: 1 }]);

  it('refuses an unknown type with the list of column types', () => {
    assert.throws(() => parent().update({ x: { type: 'float' as never, formula: (row) => row.n } }), {
      code: ErrorCode.InvalidConfig,
      message: `update(): column "x" has unknown type "float" (did you mean "float64"?); use one of ${TYPES}`,
    });
  });

  it('refuses unknown keys and options that do not apply, and a declaration without a formula', () => {
    assert.throws(() => parent().update({ x: { type: 'int32', nullabel: true, formula: () => 1 } as never }), {
      code: ErrorCode.InvalidConfig,
      message: `update(): column "x" has unknown option(s) "nullabel" (did you mean "nullable"?); a column declaration takes ${KEYS}, formula`,
    });
    assert.throws(() => parent().update({ x: { type: 'float64', unit: 'ms', formula: (row) => row.n } }), {
      code: ErrorCode.InvalidConfig,
      message: 'update(): column "x" is of type float64, which takes no unit: unit applies only to timestamp columns; drop it, or declare the column as timestamp',
    });
    assert.throws(() => parent().update({ x: { type: 'float64' } as never }), {
      code: ErrorCode.InvalidConfig,
      message:
        "update(): column \"x\" is declared without a formula; give one: update({ x: { type: 'float64', formula: (row) => … } }), or pass the function alone to learn the type from the first row",
    });
  });

  it('keeps a declared column with its options', () => {
    const table = parent().update({ at: { type: 'timestamp', unit: 'ms', precision: 3, formula: () => 5n }, d: { type: 'decimal', precision: 4, scale: 1, formula: () => '1.5' } });
    assert.deepEqual(table.schema.columns.slice(1), [
      { name: 'at', type: 'timestamp', nullable: false, unit: 'ms', precision: 3 },
      { name: 'd', type: 'decimal', nullable: false, precision: 4, scale: 1 },
    ]);
    assert.deepEqual([...table.rows()].map(([, row]) => ({ ...row })), [{ n: 1, at: 5_000_000n, d: '1.5' }]);
  });
});
