/**
 * json(columns): an object of the chosen columns (all, by default), per RFC 8259. Values keep
 * their full precision: int64 and decimal are written as JSON number literals of their exact
 * digits (never through a double), timestamps as ISO-8601 UTC strings with every significant
 * fraction digit, bytes as base64 strings. NaN and infinities have no JSON form and are refused.
 * The writer is compiled per schema: field prefixes and per-type renderers are fixed up front.
 */
import { ErrorCode, SpillwayError } from '../errors.ts';
import { type Column, type Row, type Schema, columnNames, formatIsoTimestamp, requireColumns } from '../model/schema.ts';
import { z } from 'zod';
import { type Encoder, rowCapabilities } from './encoder.ts';

export const jsonSpecSchema = z
  .object({
    kind: z.literal('json'),
    /** Columns to include, in order; all columns when absent. */
    columns: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict();
export type JsonSpec = z.output<typeof jsonSpecSchema>;

type Render = (value: NonNullable<Row[string]>) => string;

function rendererFor(column: Column): Render {
  switch (column.type) {
    case 'boolean':
      return (value) => (value === true ? 'true' : 'false');
    case 'int32':
      return (value) => (value as number).toString();
    case 'int64':
    case 'decimal':
      return (value) => (value as bigint | string).toString();
    case 'float64':
      return (value) => {
        const number = value as number;
        if (!Number.isFinite(number)) {
          throw new SpillwayError(
            ErrorCode.EncodeFailed,
            `column "${column.name}" holds ${String(number)}, which JSON cannot represent; filter it out or map it to null`,
          );
        }
        return String(number);
      };
    case 'string':
    case 'date':
      return (value) => JSON.stringify(value);
    case 'bytes':
      return (value) => `"${Buffer.from(value as Uint8Array).toString('base64')}"`;
    case 'timestamp':
      return (value) => `"${formatIsoTimestamp(value as bigint)}"`;
    case 'json':
      return (value) => JSON.stringify(value);
  }
}

export function jsonEncoder(spec: JsonSpec, schema: Schema, part: 'key' | 'value'): Encoder {
  const names = spec.columns ?? columnNames(schema);
  if (names.length === 0) throw new SpillwayError(ErrorCode.InvalidConfig, `jsonSpec for the ${part} names no columns`);
  const columns = requireColumns(schema, names, `jsonSpec for the ${part}`);
  const fields = columns.map((column, index) => ({
    name: column.name,
    prefix: `${index === 0 ? '{' : ','}${JSON.stringify(column.name)}:`,
    render: rendererFor(column),
  }));
  return {
    format: 'json',
    capabilities: rowCapabilities(names),
    encode(row) {
      let text = '';
      for (const field of fields) {
        const value = row[field.name];
        text += field.prefix + (value === null || value === undefined ? 'null' : field.render(value));
      }
      return Buffer.from(`${text}}`, 'utf8');
    },
  };
}
