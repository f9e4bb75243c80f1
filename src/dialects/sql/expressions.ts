/**
 * SQL expressions, typed against a table's schema and compiled into functions of a row. Values
 * use Spillway's row representation (int64 as bigint, decimals as strings, dates as YYYY-MM-DD,
 * timestamps as bigint nanoseconds). SQL's rules apply: an operation on NULL is NULL; AND and OR
 * are three-valued; a WHERE keeps a row only when its condition is TRUE. Integer arithmetic wraps
 * as Java's does (Flink's INT and BIGINT); integer division truncates; dividing by zero fails the
 * row. Decimal arithmetic is refused rather than done in floating point: CAST to DOUBLE first.
 */
import { ErrorCode, SpillwayError } from '../../errors.ts';
import type { ColumnType, Row, Schema, TimestampUnit, Value } from '../../model/schema.ts';
import { findColumn, formatIsoTimestamp, parseIsoTimestamp } from '../../model/schema.ts';
import { type Expression, type Position, sqlError } from './ast.ts';
import { type ColumnShape, columnShapeOf } from './types.ts';

export interface Compiled {
  readonly shape: ColumnShape;
  evaluate(row: Row): Value;
}

const NANOS: Record<TimestampUnit, bigint> = { ms: 1_000_000n, us: 1_000n, ns: 1n };

/** Nanoseconds as a count of `unit`s (what a timestamp column of that unit stores from a formula). */
export function nanosToUnits(nanos: bigint, unit: TimestampUnit): bigint {
  const factor = NANOS[unit];
  const units = nanos / factor;
  return nanos % factor < 0n ? units - 1n : units;
}

const NUMERIC: ReadonlySet<ColumnType> = new Set(['int32', 'int64', 'float64', 'decimal']);

export const SQL_FUNCTIONS = [
  'UPPER',
  'LOWER',
  'TRIM',
  'LTRIM',
  'RTRIM',
  'CONCAT',
  'SUBSTRING',
  'SUBSTR',
  'REPLACE',
  'LENGTH',
  'CHAR_LENGTH',
  'INITCAP',
  'LPAD',
  'RPAD',
  'COALESCE',
  'ABS',
  'MOD',
] as const;

export const AGGREGATE_FUNCTIONS = ['COUNT', 'SUM', 'MIN', 'MAX', 'AVG'] as const;

function rowError(at: Position, source: string, message: string): SpillwayError {
  return new SpillwayError(ErrorCode.InvalidValue, `${source}:${at.line}:${at.column}: ${message}`, { details: { line: at.line, column: at.column } });
}

/** Decimal text → (unscaled bigint, scale). */
function decimalParts(text: string): { unscaled: bigint; scale: number } {
  const negative = text.startsWith('-');
  const [whole = '0', fraction = ''] = (negative ? text.slice(1) : text).split('.');
  const unscaled = BigInt(`${whole}${fraction}` || '0');
  return { unscaled: negative ? -unscaled : unscaled, scale: fraction.length };
}

/** A decimal column's text, or a number or bigint compared with one, as decimal text. */
function decimalText(value: Value): string {
  if (typeof value === 'number') return Number.isInteger(value) ? value.toFixed(0) : value.toString();
  if (typeof value === 'bigint') return value.toString();
  return value as string;
}

function compareDecimal(a: string, b: string): number {
  const x = decimalParts(a);
  const y = decimalParts(b);
  const scale = Math.max(x.scale, y.scale);
  const left = x.unscaled * 10n ** BigInt(scale - x.scale);
  const right = y.unscaled * 10n ** BigInt(scale - y.scale);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Rounds a number, bigint or decimal text to a decimal of the given scale (half up), checking its precision. */
export function toDecimal(value: number | bigint | string, precision: number, scale: number): string {
  let text = typeof value === 'number' ? (Number.isInteger(value) ? value.toFixed(0) : value.toFixed(Math.min(20, scale + 2))) : String(value);
  text = text.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(text)) throw new SpillwayError(ErrorCode.InvalidValue, `"${text}" is not a decimal number`);
  const { unscaled, scale: given } = decimalParts(text.replace(/^\+/, '').replace(/^(-?)\./, '$10.'));
  let scaled: bigint;
  if (given <= scale) scaled = unscaled * 10n ** BigInt(scale - given);
  else {
    const divisor = 10n ** BigInt(given - scale);
    const half = divisor / 2n;
    const magnitude = unscaled < 0n ? -unscaled : unscaled;
    const rounded = (magnitude + half) / divisor;
    scaled = unscaled < 0n ? -rounded : rounded;
  }
  const digits = (scaled < 0n ? -scaled : scaled).toString().padStart(scale + 1, '0');
  if (digits.length > precision) throw new SpillwayError(ErrorCode.InvalidValue, `${String(value)} does not fit DECIMAL(${precision}, ${scale})`);
  const body = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return scaled < 0n ? `-${body}` : body;
}

/** A timestamp as Flink renders it in CAST to STRING: `YYYY-MM-DD HH:MM:SS[.fraction]`. */
function timestampText(nanos: bigint): string {
  return formatIsoTimestamp(nanos).replace('T', ' ').replace(/Z$/, '');
}

/** `YYYY-MM-DD HH:MM:SS[.fraction]` (Flink's form, read as UTC), or ISO-8601 with a zone. */
function parseTimestampText(text: string): bigint | undefined {
  const trimmed = text.trim();
  const sql = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2})?)(\.\d{1,9})?)?$/.exec(trimmed);
  if (sql !== null) {
    const time = sql[2] === undefined ? '00:00:00' : sql[2].length === 5 ? `${sql[2]}:00` : sql[2];
    return parseIsoTimestamp(`${sql[1] ?? ''}T${time}${sql[3] ?? ''}Z`);
  }
  return parseIsoTimestamp(trimmed);
}

function castValue(value: Value, from: ColumnShape, to: ColumnShape): Value {
  if (value === null) return null;
  const fail = (): never => {
    throw new SpillwayError(ErrorCode.InvalidValue, `cannot CAST ${typeof value === 'bigint' ? `${value}` : JSON.stringify(value)} (${from.type}) to ${to.type}`);
  };
  switch (to.type) {
    case 'string':
      switch (from.type) {
        case 'boolean':
          return value === true ? 'TRUE' : 'FALSE';
        case 'timestamp':
          return timestampText(value as bigint);
        case 'bytes':
          return Buffer.from(value as Uint8Array).toString('utf8');
        case 'json':
          return JSON.stringify(value);
        default:
          return typeof value === 'number' || typeof value === 'bigint' ? value.toString() : (value);
      }
    case 'int32':
    case 'int64': {
      let whole: bigint;
      if (typeof value === 'bigint') whole = value;
      else if (typeof value === 'number') {
        if (!Number.isFinite(value)) fail();
        whole = BigInt(Math.trunc(value));
      } else if (typeof value === 'boolean') whole = value ? 1n : 0n;
      else if (typeof value === 'string' && (from.type === 'string' || from.type === 'decimal')) {
        const text = value.trim();
        if (/^[+-]?\d+$/.test(text)) whole = BigInt(text);
        else if (/^[+-]?(\d+\.?\d*|\.\d+)$/.test(text)) whole = decimalParts(text.replace(/^\+/, '').replace(/^(-?)\./, '$10.')).unscaled / 10n ** BigInt((text.split('.')[1] ?? '').length);
        else return fail();
      } else return fail();
      if (to.type === 'int32') {
        if (whole < -2147483648n || whole > 2147483647n) fail();
        return Number(whole);
      }
      if (whole < -(2n ** 63n) || whole >= 2n ** 63n) fail();
      return whole;
    }
    case 'float64':
      if (typeof value === 'number') return value;
      if (typeof value === 'bigint') return Number(value);
      if (typeof value === 'boolean') return value ? 1 : 0;
      if (typeof value === 'string' && (from.type === 'string' || from.type === 'decimal')) {
        const parsed = Number(value.trim());
        if (value.trim() === '' || Number.isNaN(parsed)) fail();
        return parsed;
      }
      return fail();
    case 'decimal':
      if (typeof value === 'number' || typeof value === 'bigint' || (typeof value === 'string' && (from.type === 'string' || from.type === 'decimal'))) {
        return toDecimal(value, to.precision ?? 10, to.scale ?? 0);
      }
      return fail();
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'number') return value !== 0;
      if (typeof value === 'bigint') return value !== 0n;
      if (typeof value === 'string' && from.type === 'string') {
        const text = value.trim().toLowerCase();
        if (text === 'true') return true;
        if (text === 'false') return false;
      }
      return fail();
    case 'date':
      if (from.type === 'date') return value;
      if (from.type === 'timestamp') return formatIsoTimestamp(value as bigint).slice(0, 10);
      if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value.trim())) return value.trim();
      return fail();
    case 'timestamp': {
      if (from.type === 'timestamp') return value;
      if (from.type === 'date') return BigInt(Date.parse(`${value as string}T00:00:00Z`)) * 1_000_000n;
      if (typeof value === 'string' && from.type === 'string') return parseTimestampText(value) ?? fail();
      return fail();
    }
    case 'bytes':
      if (value instanceof Uint8Array) return value;
      if (typeof value === 'string' && from.type === 'string') return Buffer.from(value, 'utf8');
      return fail();
    case 'json':
      return fail();
  }
}

/** Converts a value to a column's declared shape, as INSERT does when the query's types differ from the sink's. */
export function coerce(value: Value, from: ColumnShape, to: ColumnShape): Value {
  if (value === null) return null;
  if (from.type === to.type) {
    if (to.type === 'decimal') return toDecimal(value as string, to.precision ?? 38, to.scale ?? 0);
    return value;
  }
  return castValue(value, from, to);
}

/** Whether INSERT may write a value of type `from` into a column of type `to` without a CAST (Flink's implicit widening). */
export function assignable(from: ColumnType, to: ColumnType): boolean {
  if (from === to) return true;
  const widening: Partial<Record<ColumnType, readonly ColumnType[]>> = {
    int32: ['int64', 'float64', 'decimal'],
    int64: ['float64', 'decimal'],
    decimal: ['float64'],
    date: ['timestamp'],
  };
  return widening[from]?.includes(to) ?? false;
}

function compareValues(a: Value, b: Value, type: ColumnType): number {
  if (type === 'decimal') return compareDecimal(decimalText(a), decimalText(b));
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b);
  const x = a as number | bigint | string | boolean;
  const y = b as number | bigint | string | boolean;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** LIKE's pattern as a regular expression: % any run, _ one character. */
function likePattern(pattern: string): RegExp {
  let source = '';
  for (const char of pattern) {
    if (char === '%') source += '[\\s\\S]*';
    else if (char === '_') source += '[\\s\\S]';
    else source += char.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 'u');
}

export class ExpressionCompiler {
  readonly #schema: Schema;
  readonly #source: string;

  constructor(schema: Schema, source: string) {
    this.#schema = schema;
    this.#source = source;
  }

  #error(at: Position, message: string, hint?: string): SpillwayError {
    return sqlError(this.#source, at, message, hint);
  }

  compile(expression: Expression): Compiled {
    switch (expression.kind) {
      case 'column': {
        const column = findColumn(this.#schema, expression.name);
        if (column === undefined) {
          throw this.#error(expression.at, `unknown column "${expression.name}"; the columns are: ${this.#schema.columns.map((c) => c.name).join(', ')}`);
        }
        const { name: _name, ...shape } = column;
        const name = expression.name;
        return { shape, evaluate: (row) => row[name] ?? null };
      }
      case 'literal': {
        const value = expression.value;
        const shape: ColumnShape =
          value === null
            ? { type: 'string', nullable: true }
            : typeof value === 'boolean'
              ? { type: 'boolean', nullable: false }
              : typeof value === 'string'
                ? { type: 'string', nullable: false }
                : typeof value === 'bigint'
                  ? { type: 'int64', nullable: false }
                  : /[.eE]/.test(expression.text)
                    ? { type: 'float64', nullable: false }
                    : { type: 'int32', nullable: false };
        return { shape, evaluate: () => value };
      }
      case 'unary': {
        const operand = this.compile(expression.operand);
        this.#requireNumeric(operand, expression.operand.at, expression.op);
        if (expression.op === '+') return operand;
        if (operand.shape.type === 'decimal') {
          return { shape: operand.shape, evaluate: (row) => negateDecimal(operand.evaluate(row)) };
        }
        const type = operand.shape.type;
        return {
          shape: operand.shape,
          evaluate: (row) => {
            const value = operand.evaluate(row);
            if (value === null) return null;
            if (type === 'int64') return BigInt.asIntN(64, -(value as bigint));
            if (type === 'int32') return -(value as number) | 0;
            return -(value as number);
          },
        };
      }
      case 'binary':
        return expression.op === '||' ? this.#concat(expression.left, expression.right, expression.at) : this.#arithmetic(expression);
      case 'compare': {
        const left = this.compile(expression.left);
        const right = this.compile(expression.right);
        const type = this.#comparable(left, right, expression.at, expression.op);
        const op = expression.op;
        return {
          shape: { type: 'boolean', nullable: left.shape.nullable || right.shape.nullable },
          evaluate: (row) => {
            const a = left.evaluate(row);
            const b = right.evaluate(row);
            if (a === null || b === null) return null;
            const order = compareValues(a, b, type);
            switch (op) {
              case '=':
                return order === 0;
              case '<>':
                return order !== 0;
              case '<':
                return order < 0;
              case '<=':
                return order <= 0;
              case '>':
                return order > 0;
              case '>=':
                return order >= 0;
            }
          },
        };
      }
      case 'logical': {
        const left = this.#condition(expression.left);
        const right = this.#condition(expression.right);
        const and = expression.op === 'AND';
        return {
          shape: { type: 'boolean', nullable: left.shape.nullable || right.shape.nullable },
          evaluate: (row) => {
            const a = left.evaluate(row);
            if (and && a === false) return false;
            if (!and && a === true) return true;
            const b = right.evaluate(row);
            if (and) return b === false ? false : a === null || b === null ? null : true;
            return b === true ? true : a === null || b === null ? null : false;
          },
        };
      }
      case 'not': {
        const operand = this.#condition(expression.operand);
        return { shape: operand.shape, evaluate: (row) => {
          const value = operand.evaluate(row);
          return value === null ? null : !(value as boolean);
        } };
      }
      case 'isNull': {
        const operand = this.compile(expression.operand);
        const negated = expression.negated;
        return { shape: { type: 'boolean', nullable: false }, evaluate: (row) => (operand.evaluate(row) === null) !== negated };
      }
      case 'in': {
        const operand = this.compile(expression.operand);
        const list = expression.list.map((item) => this.compile(item));
        const types = list.map((item, index) => this.#comparable(operand, item, expression.list[index]?.at ?? expression.at, 'IN'));
        const negated = expression.negated;
        return {
          shape: { type: 'boolean', nullable: true },
          evaluate: (row) => {
            const value = operand.evaluate(row);
            if (value === null) return null;
            let sawNull = false;
            for (let i = 0; i < list.length; i++) {
              const item = (list[i] as Compiled).evaluate(row);
              if (item === null) sawNull = true;
              else if (compareValues(value, item, types[i] as ColumnType) === 0) return !negated;
            }
            return sawNull ? null : negated;
          },
        };
      }
      case 'between': {
        const low: Expression = { kind: 'compare', op: '>=', left: expression.operand, right: expression.low, at: expression.at, text: expression.text };
        const high: Expression = { kind: 'compare', op: '<=', left: expression.operand, right: expression.high, at: expression.at, text: expression.text };
        const both = this.compile({ kind: 'logical', op: 'AND', left: low, right: high, at: expression.at, text: expression.text });
        return expression.negated ? this.compile({ kind: 'not', operand: { ...expression, negated: false }, at: expression.at, text: expression.text }) : both;
      }
      case 'like': {
        const operand = this.compile(expression.operand);
        if (operand.shape.type !== 'string') throw this.#error(expression.operand.at, `LIKE needs a string, not ${operand.shape.type}`, 'CAST it AS STRING');
        if (expression.pattern.kind !== 'literal' || typeof expression.pattern.value !== 'string') {
          throw this.#error(expression.pattern.at, 'LIKE needs a string literal pattern', "write the pattern as 'text%'");
        }
        const pattern = likePattern(expression.pattern.value);
        const negated = expression.negated;
        return { shape: { type: 'boolean', nullable: operand.shape.nullable }, evaluate: (row) => {
          const value = operand.evaluate(row);
          return value === null ? null : pattern.test(value as string) !== negated;
        } };
      }
      case 'case': {
        const whens = expression.whens.map((branch) => ({ when: this.#condition(branch.when), then: this.compile(branch.then) }));
        const otherwise = expression.otherwise === undefined ? undefined : this.compile(expression.otherwise);
        const results = [...whens.map((branch) => branch.then), ...(otherwise === undefined ? [] : [otherwise])];
        const shape = this.#commonShape(results, expression.at, 'CASE');
        const nullable = otherwise === undefined || results.some((result) => result.shape.nullable);
        return {
          shape: { ...shape, nullable },
          evaluate: (row) => {
            for (const branch of whens) {
              if (branch.when.evaluate(row) === true) return coerce(branch.then.evaluate(row), branch.then.shape, shape);
            }
            return otherwise === undefined ? null : coerce(otherwise.evaluate(row), otherwise.shape, shape);
          },
        };
      }
      case 'cast': {
        const operand = this.compile(expression.operand);
        const target = columnShapeOf(expression.type, true, this.#source);
        const shape: ColumnShape = { ...target, nullable: operand.shape.nullable, ...(target.type === 'timestamp' ? { unit: 'ns' as const } : {}) };
        const at = expression.at;
        const source = this.#source;
        return {
          shape,
          evaluate: (row) => {
            try {
              return castValue(operand.evaluate(row), operand.shape, target);
            } catch (error) {
              throw rowError(at, source, error instanceof Error ? error.message : String(error));
            }
          },
        };
      }
      case 'call':
        return this.#call(expression);
    }
  }

  /** A condition (WHERE, AND, OR, NOT, WHEN) must be boolean. */
  #condition(expression: Expression): Compiled {
    const compiled = this.compile(expression);
    if (compiled.shape.type !== 'boolean') throw this.#error(expression.at, `"${expression.text}" is ${compiled.shape.type}, not a condition`, 'compare it, for example x > 0');
    return compiled;
  }

  /** A WHERE predicate: true keeps the row, false and NULL drop it. */
  predicate(expression: Expression): (row: Row) => boolean {
    const condition = this.#condition(expression);
    return (row) => condition.evaluate(row) === true;
  }

  #requireNumeric(compiled: Compiled, at: Position, op: string): void {
    if (!NUMERIC.has(compiled.shape.type)) throw this.#error(at, `${op} needs numbers, not ${compiled.shape.type}`, 'CAST the operand to a number type');
  }

  #comparable(left: Compiled, right: Compiled, at: Position, op: string): ColumnType {
    const a = left.shape.type;
    const b = right.shape.type;
    if (NUMERIC.has(a) && NUMERIC.has(b)) return a === 'decimal' || b === 'decimal' ? (a === 'float64' || b === 'float64' ? 'float64' : 'decimal') : 'float64';
    if (a === b && a !== 'json') return a;
    if (left.shape.nullable && right.shape.nullable && (a === 'string' || b === 'string')) return a === 'string' ? b : a;
    throw this.#error(at, `cannot compare ${a} with ${b} (${op})`, `CAST one side, for example CAST(x AS ${b === 'string' ? 'STRING' : b.toUpperCase()})`);
  }

  #commonShape(results: readonly Compiled[], at: Position, what: string): ColumnShape {
    const typed = results.filter((result) => !(result.shape.type === 'string' && result.shape.nullable && results.length > 1));
    const first = (typed[0] ?? results[0]) as Compiled;
    let shape = first.shape;
    for (const result of typed) {
      if (result.shape.type === shape.type) continue;
      if (assignable(shape.type, result.shape.type)) shape = result.shape;
      else if (!assignable(result.shape.type, shape.type)) {
        throw this.#error(at, `${what} mixes ${shape.type} and ${result.shape.type}`, 'CAST the branches to one type');
      }
    }
    return shape;
  }

  #arithmetic(expression: Extract<Expression, { kind: 'binary' }>): Compiled {
    const left = this.compile(expression.left);
    const right = this.compile(expression.right);
    this.#requireNumeric(left, expression.left.at, expression.op);
    this.#requireNumeric(right, expression.right.at, expression.op);
    const a = left.shape.type;
    const b = right.shape.type;
    if ((a === 'decimal' || b === 'decimal') && a !== 'float64' && b !== 'float64') {
      throw this.#error(expression.at, `arithmetic on DECIMAL is not supported ("${expression.text}")`, 'CAST the DECIMAL AS DOUBLE first');
    }
    const type: ColumnType = a === 'float64' || b === 'float64' ? 'float64' : a === 'int64' || b === 'int64' ? 'int64' : 'int32';
    const op = expression.op;
    const at = expression.at;
    const source = this.#source;
    const divide = op === '/' || op === '%';
    const toType = (value: Value, from: ColumnType): number | bigint =>
      type === 'int64' ? (typeof value === 'bigint' ? value : BigInt(value as number)) : from === 'decimal' ? Number(value) : Number(value);
    return {
      shape: { type, nullable: left.shape.nullable || right.shape.nullable || divide },
      evaluate: (row) => {
        const x = left.evaluate(row);
        const y = right.evaluate(row);
        if (x === null || y === null) return null;
        const p = toType(x, a);
        const q = toType(y, b);
        if (divide && type !== 'float64' && (q === 0 || q === 0n)) throw rowError(at, source, `division by zero in "${expression.text}"`);
        if (type === 'int64') {
          const m = p as bigint;
          const n = q as bigint;
          const result = op === '+' ? m + n : op === '-' ? m - n : op === '*' ? m * n : op === '/' ? m / n : m % n;
          return BigInt.asIntN(64, result);
        }
        const m = p as number;
        const n = q as number;
        if (type === 'int32') {
          if (op === '*') return Math.imul(m, n);
          const result = op === '+' ? m + n : op === '-' ? m - n : op === '/' ? Math.trunc(m / n) : m % n;
          return result | 0;
        }
        return op === '+' ? m + n : op === '-' ? m - n : op === '*' ? m * n : op === '/' ? m / n : m % n;
      },
    };
  }

  #concat(leftExpression: Expression, rightExpression: Expression, at: Position): Compiled {
    const parts = [this.compile(leftExpression), this.compile(rightExpression)];
    parts.forEach((part, index) => {
      if (part.shape.type !== 'string') {
        throw this.#error(index === 0 ? leftExpression.at : rightExpression.at, `|| joins strings, not ${part.shape.type}`, 'CAST it AS STRING');
      }
    });
    void at;
    return {
      shape: { type: 'string', nullable: parts.some((part) => part.shape.nullable) },
      evaluate: (row) => {
        const values = parts.map((part) => part.evaluate(row));
        return values.includes(null) ? null : values.map((value) => value as string).join('');
      },
    };
  }

  #call(expression: Extract<Expression, { kind: 'call' }>): Compiled {
    const name = expression.name;
    if ((AGGREGATE_FUNCTIONS as readonly string[]).includes(name)) {
      throw this.#error(expression.at, `the aggregate ${name} is not allowed here`, 'aggregates go in the SELECT list of a query (with or without GROUP BY), not in WHERE or inside other aggregates');
    }
    if (expression.distinct || expression.star) throw this.#error(expression.at, `${name}(${expression.star ? '*' : 'DISTINCT …'}) is not supported`);
    const args = expression.args.map((arg) => this.compile(arg));
    const arity = (min: number, max = min) => {
      if (args.length < min || args.length > max) {
        throw this.#error(expression.at, `${name} takes ${min === max ? min : `${min} to ${max}`} argument${max === 1 ? '' : 's'}, not ${args.length}`);
      }
    };
    const strings = (...indexes: number[]) => {
      for (const index of indexes) {
        const arg = args[index];
        if (arg !== undefined && arg.shape.type !== 'string') {
          throw this.#error(expression.args[index]?.at ?? expression.at, `${name} needs a string, not ${arg.shape.type}`, 'CAST it AS STRING');
        }
      }
    };
    const ints = (...indexes: number[]) => {
      for (const index of indexes) {
        const arg = args[index];
        if (arg !== undefined && arg.shape.type !== 'int32' && arg.shape.type !== 'int64') {
          throw this.#error(expression.args[index]?.at ?? expression.at, `${name} needs an integer, not ${arg.shape.type}`);
        }
      }
    };
    const nullable = args.some((arg) => arg.shape.nullable);
    const strict = (shape: ColumnShape, fn: (values: Value[]) => Value): Compiled => ({
      shape,
      evaluate: (row) => {
        const values = args.map((arg) => arg.evaluate(row));
        return values.includes(null) ? null : fn(values);
      },
    });
    const text = (fn: (values: Value[]) => string): Compiled => strict({ type: 'string', nullable }, fn);
    const s = (value: Value) => value as string;
    const n = (value: Value) => Number(value);
    switch (name) {
      case 'UPPER':
        arity(1);
        strings(0);
        return text(([value]) => s(value ?? '').toUpperCase());
      case 'LOWER':
        arity(1);
        strings(0);
        return text(([value]) => s(value ?? '').toLowerCase());
      case 'TRIM':
        arity(1);
        strings(0);
        return text(([value]) => s(value ?? '').replace(/^ +| +$/g, ''));
      case 'LTRIM':
        arity(1);
        strings(0);
        return text(([value]) => s(value ?? '').replace(/^ +/, ''));
      case 'RTRIM':
        arity(1);
        strings(0);
        return text(([value]) => s(value ?? '').replace(/ +$/, ''));
      case 'INITCAP':
        arity(1);
        strings(0);
        return text(([value]) => s(value ?? '').toLowerCase().replace(/(^|[^\p{L}\p{N}])(\p{L})/gu, (_m, before: string, letter: string) => `${before}${letter.toUpperCase()}`));
      case 'CONCAT':
        arity(1, 255);
        strings(...args.map((_arg, index) => index));
        return text((values) => values.map((value) => value as string).join(''));
      case 'SUBSTRING':
      case 'SUBSTR':
        arity(2, 3);
        strings(0);
        ints(1, 2);
        return text(([value, start, length]) => {
          const chars = [...s(value ?? '')];
          const from = Math.max(1, n(start ?? 1));
          const end = length === undefined ? chars.length : from - 1 + Math.max(0, n(length));
          return chars.slice(from - 1, end).join('');
        });
      case 'REPLACE':
        arity(3);
        strings(0, 1, 2);
        return text(([value, search, replacement]) => (s(search ?? '') === '' ? s(value ?? '') : s(value ?? '').replaceAll(s(search ?? ''), s(replacement ?? ''))));
      case 'LENGTH':
      case 'CHAR_LENGTH':
        arity(1);
        strings(0);
        return strict({ type: 'int32', nullable }, ([value]) => [...s(value ?? '')].length);
      case 'LPAD':
      case 'RPAD':
        arity(3);
        strings(0, 2);
        ints(1);
        return text(([value, length, pad]) => {
          const chars = [...s(value ?? '')];
          const target = n(length ?? 0);
          if (target < chars.length) return chars.slice(0, Math.max(0, target)).join('');
          const padding = [...s(pad ?? '')];
          if (padding.length === 0) return chars.join('');
          const fill: string[] = [];
          while (fill.length < target - chars.length) fill.push(padding[fill.length % padding.length] as string);
          return name === 'LPAD' ? [...fill, ...chars].join('') : [...chars, ...fill].join('');
        });
      case 'COALESCE': {
        arity(1, 255);
        const shape = this.#commonShape(args, expression.at, 'COALESCE');
        return {
          shape: { ...shape, nullable: args.every((arg) => arg.shape.nullable) },
          evaluate: (row) => {
            for (const arg of args) {
              const value = arg.evaluate(row);
              if (value !== null) return coerce(value, arg.shape, shape);
            }
            return null;
          },
        };
      }
      case 'ABS': {
        arity(1);
        const [arg] = args as [Compiled];
        this.#requireNumeric(arg, expression.at, 'ABS');
        return strict(arg.shape, ([value]) =>
          typeof value === 'bigint' ? (value < 0n ? -value : value) : typeof value === 'string' ? value.replace(/^-/, '') : Math.abs(value as number),
        );
      }
      case 'MOD':
        arity(2);
        return this.#arithmetic({ kind: 'binary', op: '%', left: expression.args[0] as Expression, right: expression.args[1] as Expression, at: expression.at, text: expression.text });
      default:
        throw this.#error(expression.at, `the function ${name} is not supported`, `Spillway's SQL functions are ${SQL_FUNCTIONS.join(', ')}, and the aggregates ${AGGREGATE_FUNCTIONS.join(', ')}`);
    }
  }
}

function negateDecimal(value: Value): Value {
  if (value === null) return null;
  const text = value as string;
  return text.startsWith('-') ? text.slice(1) : /^0(\.0*)?$/.test(text) ? text : `-${text}`;
}
