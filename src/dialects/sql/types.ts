/**
 * Flink SQL column types and the Spillway column types they become. Columns are nullable unless
 * declared NOT NULL (or part of the primary key), as in Flink.
 *
 * | Flink | Spillway |
 * | STRING, VARCHAR(n), CHAR(n) | string |
 * | BOOLEAN | boolean |
 * | TINYINT, SMALLINT, INT, INTEGER | int32 |
 * | BIGINT | int64 |
 * | FLOAT, REAL, DOUBLE [PRECISION] | float64 (FLOAT's 4-byte values fit exactly) |
 * | DECIMAL(p, s), DEC, NUMERIC | decimal with precision p (default 10) and scale s (default 0) |
 * | DATE | date |
 * | TIMESTAMP(p), TIMESTAMP_LTZ(p), TIMESTAMP(p) WITH [LOCAL] TIME ZONE | timestamp in ms (p ≤ 3), µs (p ≤ 6, the default) or ns |
 * | BYTES, VARBINARY(n), BINARY(n) | bytes |
 */
import type { Column, ColumnType, TimestampUnit } from '../../model/schema.ts';
import { type Position, type SqlType, sqlError } from './ast.ts';

export type ColumnShape = Omit<Column, 'name'>;

const SIMPLE: Readonly<Record<string, ColumnType>> = {
  STRING: 'string',
  VARCHAR: 'string',
  CHAR: 'string',
  'CHARACTER VARYING': 'string',
  CHARACTER: 'string',
  BOOLEAN: 'boolean',
  TINYINT: 'int32',
  SMALLINT: 'int32',
  INT: 'int32',
  INTEGER: 'int32',
  BIGINT: 'int64',
  FLOAT: 'float64',
  REAL: 'float64',
  DOUBLE: 'float64',
  'DOUBLE PRECISION': 'float64',
  DATE: 'date',
  BYTES: 'bytes',
  VARBINARY: 'bytes',
  BINARY: 'bytes',
};

const SUPPORTED = 'STRING, VARCHAR(n), CHAR(n), BOOLEAN, TINYINT, SMALLINT, INT, BIGINT, FLOAT, DOUBLE, DECIMAL(p, s), DATE, TIMESTAMP(p), TIMESTAMP_LTZ(p), BYTES, VARBINARY(n)';

function timestampUnit(precision: number): TimestampUnit {
  return precision <= 3 ? 'ms' : precision <= 6 ? 'us' : 'ns';
}

/** The Spillway column type of a Flink type; anything else is refused at its position. */
export function columnShapeOf(type: SqlType, nullable: boolean, source: string): ColumnShape {
  const simple = SIMPLE[type.name];
  if (simple !== undefined) return { type: simple, nullable };
  if (type.name === 'DECIMAL' || type.name === 'DEC' || type.name === 'NUMERIC') {
    const [precision = 10, scale = 0] = type.params;
    if (precision < 1 || precision > 38 || scale < 0 || scale > precision) {
      throw sqlError(source, type.at, `${type.text}: a DECIMAL's precision is 1–38 and its scale 0–precision`);
    }
    return { type: 'decimal', nullable, precision, scale };
  }
  const timestamp = /^(TIMESTAMP_LTZ|TIMESTAMP)( WITH (LOCAL )?TIME ZONE| WITHOUT TIME ZONE)?$/.exec(type.name);
  if (timestamp !== null) {
    const [precision = 6] = type.params;
    if (precision < 0 || precision > 9) throw sqlError(source, type.at, `${type.text}: a TIMESTAMP's precision is 0–9`);
    return { type: 'timestamp', nullable, unit: timestampUnit(precision), precision };
  }
  throw sqlError(source, type.at, `the type ${type.text} is not supported`, `use one of ${SUPPORTED}`);
}

export function describeShape(shape: ColumnShape): string {
  return shape.type;
}

export type { Position };
