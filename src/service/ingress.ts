/**
 * HTTP ingress, as Feldera takes it: `format=json` with `update_format=insert_delete` (the
 * default: `{"insert": row}` / `{"delete": row}`) or `raw` (each value a row, an insert), as newline-delimited values
 * or, with `array=true`, one JSON array; `format=csv`: one row per line, columns in the table's
 * order (RFC 4180 quoting), each an insert. Integers beyond 2^53 keep every digit in the columns
 * that hold them exactly (read from their source text), bytes are base64.
 */
import Papa from 'papaparse';
import { ErrorCode, SpillwayError } from '../errors.ts';
import type { Column, Schema } from '../model/schema.ts';

export type IngressChange = { readonly kind: 'insert' | 'delete'; readonly row: Record<string, unknown> };

export interface IngressOptions {
  readonly format: string | undefined;
  readonly update_format?: string | undefined;
  readonly array?: string | undefined;
}

function badInput(table: string, message: string, field?: string): SpillwayError {
  return new SpillwayError(ErrorCode.InvalidValue, `ingress into "${table}": ${message}`, { details: { sink: table, ...(field === undefined ? {} : { field }) } });
}

/** A number JSON.parse gave for an integer beyond 2^53, so rounded. */
const roundedInteger = (value: unknown): boolean => typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value);

const exactReviver = (_key: string, value: unknown, context?: { source?: string }) =>
  roundedInteger(value) && context?.source !== undefined && /^-?\d+$/.test(context.source) ? BigInt(context.source) : value;

const objectOf = (value: unknown): Record<string, unknown> | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;

/** What a JSON body is read against: the table's columns by name, and the ones read specially. */
interface JsonColumns {
  readonly schema: Schema;
  readonly names: ReadonlySet<string>;
  /** Base64 in JSON. */
  readonly bytes: readonly string[];
  /**
   * Those that keep an integer beyond 2^53 exactly (as a bigint): int64, timestamp and decimal.
   * (A json column holds numbers as doubles, as JSON.parse gives them.)
   */
  readonly exact: readonly string[];
}

function jsonColumnsOf(schema: Schema): JsonColumns {
  const named = (test: (column: Column) => boolean) => schema.columns.filter(test).map((column) => column.name);
  return {
    schema,
    names: new Set(schema.columns.map((column) => column.name)),
    bytes: named((column) => column.type === 'bytes'),
    exact: named((column) => column.type === 'int64' || column.type === 'timestamp' || column.type === 'decimal'),
  };
}

const roundsAny = (row: Record<string, unknown> | undefined, exact: readonly string[]): boolean => row !== undefined && exact.some((name) => roundedInteger(row[name]));

/** Whether a plainly parsed value (a row, or an insert_delete event around one) rounded an integer an exact column keeps. */
function roundedExact(value: unknown, { exact }: JsonColumns): boolean {
  const event = objectOf(value);
  return roundsAny(event, exact) || roundsAny(objectOf(event?.insert), exact) || roundsAny(objectOf(event?.delete), exact);
}

/**
 * One JSON text (a line, or a whole array body) parsed keeping every digit of the integers beyond
 * 2^53 that the table's columns keep. The reviver that does so (a call per value) was the ingress
 * path's largest cost, so a text is parsed with it only when a plain parse rounded one.
 */
function parseForTable(text: string, columns: JsonColumns): unknown {
  const value = JSON.parse(text) as unknown;
  if (columns.exact.length === 0) return value;
  const rounded = Array.isArray(value) ? value.some((item) => roundedExact(item, columns)) : roundedExact(value, columns);
  return rounded ? JSON.parse(text, exactReviver) : value;
}

/**
 * A JSON row's values in the forms the table's columns take (base64 bytes to bytes). The parsed
 * object is the ingress's own, so it is only copied when a bytes value must be decoded.
 */
function fromJsonRow(columns: JsonColumns, row: unknown, table: string, where: string): Record<string, unknown> {
  const parsed = objectOf(row);
  if (parsed === undefined) throw badInput(table, `${where} is not a JSON object of column values`);
  for (const name in parsed) {
    if (!columns.names.has(name)) {
      const unknown = Object.keys(parsed).filter((field) => !columns.names.has(field));
      throw badInput(table, `${where} names ${unknown.map((field) => `"${field}"`).join(', ')}, not a column; the columns are: ${columns.schema.columns.map((column) => column.name).join(', ')}`);
    }
  }
  if (!columns.bytes.some((name) => typeof parsed[name] === 'string')) return parsed;
  const values = { ...parsed };
  for (const name of columns.bytes) {
    const value = parsed[name];
    if (typeof value === 'string') values[name] = Buffer.from(value, 'base64');
  }
  return values;
}

/** As Feldera reads CSV: an empty field, NULL or null is a null for a nullable non-string column; NULL or null for a nullable string column. */
function fromCsvField(column: Column, text: string, table: string, where: string): unknown {
  if (column.nullable && (text === 'NULL' || text === 'null')) return null;
  if (text === '' && column.type !== 'string') return null;
  const fail = () => badInput(table, `${where}: "${text}" is not a ${column.type} for the column "${column.name}"`, column.name);
  switch (column.type) {
    case 'boolean':
      if (/^(true|false)$/i.test(text)) return text.toLowerCase() === 'true';
      throw fail();
    case 'int32':
    case 'float64': {
      const number = Number(text);
      if (Number.isNaN(number)) throw fail();
      return number;
    }
    case 'int64':
      if (!/^-?\d+$/.test(text)) throw fail();
      return BigInt(text);
    case 'bytes':
      return Buffer.from(text, 'base64');
    case 'json':
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw fail();
      }
    default:
      return text;
  }
}

/** The body as changes, in order; nothing is applied when any part is malformed. */
export function parseIngress(table: string, schema: Schema, body: string, options: IngressOptions): IngressChange[] {
  const format = options.format ?? 'json';
  if (format === 'csv') {
    if (options.update_format !== undefined) throw badInput(table, 'update_format applies to format=json only; CSV rows are inserts', 'update_format');
    if (options.array !== undefined) throw badInput(table, 'array applies to format=json only', 'array');
    const parsed = Papa.parse<string[]>(body, { delimiter: ',', skipEmptyLines: true });
    const problem = parsed.errors[0];
    if (problem !== undefined) {
      const where = problem.row === undefined ? '' : `CSV line ${problem.row + 1}: `;
      throw badInput(table, `the CSV body is malformed: ${where}${problem.message}; quote a field that holds a comma, a quote or a line break, and double the quotes inside it`);
    }
    const records = parsed.data;
    return records.map((record, index) => {
      if (record.length !== schema.columns.length) {
        throw badInput(table, `CSV line ${index + 1} has ${record.length} fields but the table has ${schema.columns.length} columns (${schema.columns.map((column) => column.name).join(', ')})`);
      }
      const row: Record<string, unknown> = {};
      schema.columns.forEach((column, position) => {
        row[column.name] = fromCsvField(column, record[position] as string, table, `CSV line ${index + 1}`);
      });
      return { kind: 'insert', row };
    });
  }
  if (format !== 'json') throw badInput(table, `format "${format}" is not supported for ingress; use format=json or format=csv`, 'format');
  // Feldera's JSON ingress reads insert/delete events unless told otherwise.
  const updateFormat = options.update_format ?? 'insert_delete';
  if (updateFormat !== 'raw' && updateFormat !== 'insert_delete') {
    throw badInput(table, `update_format "${updateFormat}" is not supported for ingress; use raw or insert_delete`, 'update_format');
  }
  if (options.array !== undefined && options.array !== 'true' && options.array !== 'false') throw badInput(table, `array is true or false, not "${options.array}"`, 'array');
  let values: unknown[];
  const columns = jsonColumnsOf(schema);
  try {
    if (options.array === 'true') {
      const parsed = parseForTable(body, columns);
      if (!Array.isArray(parsed)) throw badInput(table, 'with array=true the body is one JSON array');
      values = parsed;
    } else {
      values = body
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== '')
        .map((line) => parseForTable(line, columns));
    }
  } catch (error) {
    if (error instanceof SpillwayError) throw error;
    throw badInput(table, `the body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  return values.map((value, index) => {
    const where = `value ${index + 1}`;
    if (updateFormat === 'raw') return { kind: 'insert', row: fromJsonRow(columns, value, table, where) };
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw badInput(table, `${where} is not {"insert": row} or {"delete": row}`);
    const keys = Object.keys(value);
    const kind = keys[0];
    if (keys.length !== 1 || (kind !== 'insert' && kind !== 'delete')) throw badInput(table, `${where} has ${keys.map((key) => `"${key}"`).join(', ') || 'no key'}; an insert_delete event has exactly one key, "insert" or "delete"`);
    return { kind, row: fromJsonRow(columns, (value as Record<string, unknown>)[kind], table, `${where}.${kind}`) };
  });
}
