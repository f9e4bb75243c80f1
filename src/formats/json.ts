/**
 * json(columns, options): an object of the chosen columns (all, by default), per RFC 8259. Values
 * keep their full precision: int64 and decimal are written as JSON number literals of their exact
 * digits (never through a double), timestamps as ISO-8601 UTC strings with every significant
 * fraction digit (or as exact integers since the epoch), bytes as base64 strings. NaN and
 * infinities have no JSON form and are refused.
 *
 * Output names: `mapping` renames a column; a name holding the nested delimiter (`.` unless told
 * otherwise) becomes a path, so `"a.b"` is written as `{"a":{"b":…}}`. Nulls are written as
 * `null`, or left out with `includeNulls: false`.
 *
 * Change envelopes (`updateFormat`, in Feldera's words):
 * - `raw`: the row itself; it cannot say that a row was removed.
 * - `insert_delete`: Feldera's data change event, an object with one key, `{"insert": row}` or
 *   `{"delete": row}`; an update is the delete of the old row, then the insert of the new one.
 * - `debezium`: the value of a Debezium change event, `{"before": …, "after": …, "op": …,
 *   "ts_ms": …}`, where `op` is `c` (create: before is null), `u` (update: both rows, before null
 *   when unknown) or `d` (delete: after is null), and `ts_ms` is the time the event was encoded,
 *   in epoch milliseconds. This is the envelope as Debezium's own connectors write it when the
 *   JSON converter leaves schemas out; no `source` block, as no database is involved.
 * With `array: true` many events go in one message as a JSON array (Feldera's `array`), so each
 * message stays one valid JSON document. Without it a message is one event and nothing more:
 * Feldera's own encoder may pack several newline-ended events into one Kafka message, but one
 * event per record is what keyed consumers and compaction need, and a record needs no separator.
 *
 * The writer is compiled per schema into generated code (column names only ever as JSON string
 * literals): where JSON.stringify writes exactly what the renderers would, a function builds the
 * row's object in output order and JSON.stringify writes it, envelope and all, in one pass;
 * otherwise (decimals, names that are array indexes) a function concatenates constant field text
 * and rendered values. A property test holds the two to the same text.
 */
import { ErrorCode, SpillwayError } from '../errors.ts';
import { type Column, type Row, type Schema, columnNames, formatIsoTimestamp, requireColumns } from '../model/schema.ts';
import { z } from 'zod';
import type { ChangeEnvelope, Encoder, RowChange, TextBatch } from './encoder.ts';

const columnName = z.string().min(1);

/**
 * How timestamp columns are written: ISO-8601 UTC text, Flink's SQL text (`2024-05-01 12:00:00.123`:
 * a space, no zone, the instant in UTC), or an integer count since the epoch.
 */
export const timestampFormatSchema = z.enum(['iso', 'sql', 'epoch-millis', 'epoch-micros', 'epoch-nanos']);
export type TimestampFormat = z.output<typeof timestampFormatSchema>;

export const jsonSpecSchema = z
  .object({
    kind: z.literal('json'),
    /** Columns to include, in order; all columns when absent. */
    columns: z.array(columnName).min(1).optional(),
    /** Columns to leave out (of all the table's columns); not together with `columns`. */
    exclude: z.array(columnName).optional(),
    /** Output field name per column (`{ column: "name" }`); a column not named keeps its own name. */
    mapping: z.record(columnName, z.string().min(1)).optional(),
    /** The separator that makes an output name a nested path (default `.`); `false` keeps names flat. */
    nestedDelimiter: z.union([z.string().min(1), z.literal(false)]).optional(),
    /** Write null values as `null` (default) or leave their fields out. */
    includeNulls: z.boolean().optional(),
    /** Timestamp columns as ISO-8601 text (default), SQL text (`yyyy-MM-dd HH:mm:ss.SSS…`) or epoch millis / micros / nanos integers. */
    timestamps: timestampFormatSchema.optional(),
    /** The change envelope: `raw` (default), `insert_delete` (Feldera) or `debezium`. */
    updateFormat: z.enum(['raw', 'insert_delete', 'debezium']).optional(),
    /** Many changes as one JSON array message (Feldera's `array`). */
    array: z.boolean().optional(),
  })
  .strict();
export type JsonSpec = z.output<typeof jsonSpecSchema>;
export type JsonUpdateFormat = NonNullable<JsonSpec['updateFormat']>;

/** The defaults, applied when the spec is compiled (so a spec reads the same before and after validation). */
export const JSON_DEFAULTS = {
  nestedDelimiter: '.',
  includeNulls: true,
  timestamps: 'iso',
  updateFormat: 'raw',
  array: false,
} as const;

type Present = NonNullable<Row[string]>;
type Render = (value: Present) => string;

const NANOS_PER: Record<Exclude<TimestampFormat, 'iso' | 'sql'>, bigint> = {
  'epoch-millis': 1_000_000n,
  'epoch-micros': 1_000n,
  'epoch-nanos': 1n,
};

/**
 * Renders nanoseconds since the epoch in the chosen format. Coarser units round toward the past
 * (floor), so an instant before 1970 never moves forward in time.
 */
export function timestampText(format: TimestampFormat): (nanos: bigint) => string {
  if (format === 'iso') return formatIsoTimestamp;
  // Flink's SQL standard is the ISO text with a space for the T and no zone (Spillway's instants are UTC).
  if (format === 'sql') return (nanos) => formatIsoTimestamp(nanos).replace('T', ' ').slice(0, -1);
  const divisor = NANOS_PER[format];
  if (divisor === 1n) return (nanos) => nanos.toString();
  return (nanos) => {
    const quotient = nanos / divisor;
    return (nanos % divisor < 0n ? quotient - 1n : quotient).toString();
  };
}

function rendererFor(column: Column, timestamps: TimestampFormat): Render {
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
    case 'timestamp': {
      const text = timestampText(timestamps);
      return timestamps === 'iso' || timestamps === 'sql' ? (value) => `"${text(value as bigint)}"` : (value) => text(value as bigint);
    }
    case 'json':
      return (value) => JSON.stringify(value);
  }
}

interface Leaf {
  readonly kind: 'leaf';
  readonly key: string;
  readonly column: string;
  readonly type: Column['type'];
  /** How a timestamp leaf is written. */
  readonly timestamps: TimestampFormat;
  readonly render: Render;
}
interface Branch {
  readonly kind: 'branch';
  readonly key: string;
  readonly children: Node[];
}
type Node = Leaf | Branch;

/** Turns output names into a tree of objects; fails on a name used twice or both as a field and an object. */
function buildTree(fields: readonly { column: Column; name: string; render: Render; timestamps: TimestampFormat }[], delimiter: string | false, usedBy: string): Node[] {
  const root: Node[] = [];
  const seen = new Map<string, string>();
  for (const field of fields) {
    const path = delimiter === false ? [field.name] : field.name.split(delimiter);
    if (path.some((segment) => segment === '')) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `${usedBy} writes column "${field.column.name}" as "${field.name}", which has an empty part between "${String(delimiter)}" separators; give it a name such as "a${String(delimiter)}b"`,
      );
    }
    let level = root;
    for (let depth = 0; depth < path.length; depth += 1) {
      const segment = path[depth] as string;
      const prefix = path.slice(0, depth + 1).join(delimiter === false ? '' : delimiter);
      const key = JSON.stringify(segment);
      const existing = level.find((node) => node.key === key);
      const isLast = depth === path.length - 1;
      if (existing !== undefined && (isLast || existing.kind === 'leaf')) {
        const other = seen.get(prefix) ?? prefix;
        throw new SpillwayError(
          ErrorCode.InvalidConfig,
          `${usedBy} writes column "${field.column.name}" as "${field.name}", which collides with ${other}; give one of them another name with mapping`,
        );
      }
      if (isLast) {
        level.push({ kind: 'leaf', key, column: field.column.name, type: field.column.type, timestamps: field.timestamps, render: field.render });
        seen.set(prefix, `column "${field.column.name}" (written as "${field.name}")`);
      } else if (existing === undefined) {
        const branch: Branch = { kind: 'branch', key, children: [] };
        level.push(branch);
        seen.set(prefix, `the object "${prefix}" of column "${field.column.name}" (written as "${field.name}")`);
        level = branch.children;
      } else {
        level = existing.children;
      }
    }
  }
  return root;
}

type ObjectWriter = (row: Row) => string;
/** A row as the value JSON.stringify writes as the row's object. */
type ValueWriter = (row: Row) => unknown;

/** A string that JSON.stringify would change beyond quoting it: quotes, backslashes, controls, surrogates. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what JSON escapes
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * The JavaScript expression that renders leaf `index`'s present value `v`. Types whose text is
 * the value itself are inlined; the rest call the leaf's renderer (`R[index]`), which also keeps
 * every refusal (a non-finite float64) and its message. A string needing no escapes is quoted
 * as it is, which is what JSON.stringify would write.
 */
function valueExpression(leaf: Leaf, index: number, v: string): string {
  const render = `R[${index}](${v})`;
  switch (leaf.type) {
    case 'boolean':
      return `(${v} === true ? "true" : "false")`;
    case 'int32':
    case 'decimal':
      return `("" + ${v})`;
    case 'int64':
      // A bigint within 2^53 prints the same digits as its number, and a number prints faster.
      return `(typeof ${v} === "bigint" && ${v} <= MAX_SAFE && ${v} >= MIN_SAFE ? "" + Number(${v}) : "" + ${v})`;
    case 'float64':
      return `(Number.isFinite(${v}) ? "" + ${v} : ${render})`;
    case 'string':
    case 'date':
      return `(typeof ${v} === "string" && !E.test(${v}) ? '"' + ${v} + '"' : JSON.stringify(${v}))`;
    default:
      return render;
  }
}

/**
 * The bounds of the bigints that print as their number, made once per writer: a negative bigint
 * literal in a row's code would be negated, a new bigint, for every row.
 */
const SAFE_BIGINTS = 'const MAX_SAFE = 9007199254740991n;\nconst MIN_SAFE = -MAX_SAFE;\n';

/** An output name that JSON.stringify would move to the front of an object (an array index). */
const ARRAY_INDEX = /^(0|[1-9]\d{0,9})$/;

/**
 * The fastest writer, where it is exact: the generated code builds a plain object in output
 * order and hands it to JSON.stringify, whose serializer writes flat text in one pass (string
 * concatenation leaves a rope to flatten). Values are given in forms JSON.stringify writes as the
 * renderers would: numbers and strings as they are, int64 beyond 2^53 and epoch timestamps as
 * JSON.rawJSON of their exact digits, bytes and ISO timestamps as their text; a left-out null is
 * `undefined`, which JSON.stringify skips. Undefined (the concatenating writer is used) when a
 * name is an array index (JSON.stringify would reorder it) or a decimal is written (its digits
 * are written as given, which JSON.rawJSON may refuse).
 */
function compileStringifyWriter(tree: readonly Node[], includeNulls: boolean): ValueWriter | undefined {
  const renderers: Render[] = [];
  const lines: string[] = [];
  let exact = true;
  const build = (nodes: readonly Node[]): string => {
    const fields = nodes.map((node) => {
      const segment = JSON.parse(node.key) as string;
      if (ARRAY_INDEX.test(segment) && Number(segment) < 2 ** 32 - 1) exact = false;
      // `__proto__:` in a literal would set the prototype; as a computed key it is a field.
      const key = segment === '__proto__' ? `[${node.key}]` : node.key;
      if (node.kind === 'branch') return `${key}: ${build(node.children)}`;
      const index = renderers.length;
      renderers.push(node.render);
      const v = `v${index}`;
      lines.push(`const ${v} = row[${JSON.stringify(node.column)}];`);
      let value: string;
      switch (node.type) {
        case 'boolean':
          value = `${v} === true`;
          break;
        case 'int32':
        case 'string':
        case 'date':
        case 'json':
          value = v;
          break;
        case 'int64':
          value = `(typeof ${v} === "bigint" && ${v} <= MAX_SAFE && ${v} >= MIN_SAFE ? Number(${v}) : JSON.rawJSON("" + ${v}))`;
          break;
        case 'float64':
          value = `(Number.isFinite(${v}) ? ${v} : R[${index}](${v}))`;
          break;
        case 'bytes':
          value = `B(${v})`;
          break;
        case 'timestamp':
          value = node.timestamps === 'iso' ? `T(${v})` : `JSON.rawJSON(R[${index}](${v}))`;
          break;
        case 'decimal':
          exact = false;
          value = v;
          break;
      }
      return `${key}: (${v} === null || ${v} === undefined ? ${includeNulls ? 'null' : 'undefined'} : ${value})`;
    });
    return `{ ${fields.join(', ')} }`;
  };
  const object = build(tree);
  if (!exact) return undefined;
  const body = `"use strict";\n${SAFE_BIGINTS}return function objectOf(row) {\n${lines.join('\n')}\nreturn ${object};\n};`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from the constants above only
  const factory = new Function('R', 'B', 'T', body) as (renderers: readonly Render[], base64: (bytes: Uint8Array) => string, iso: (nanos: bigint) => string) => ValueWriter;
  return factory(renderers, (bytes) => Buffer.from(bytes).toString('base64'), formatIsoTimestamp);
}

/**
 * Compiles an object writer into one function for the schema: the field list, output names and
 * renderers are fixed, so the generated code reads each column and concatenates constants and
 * rendered values with no loop, closure call or lookup per field. Only constants made here reach
 * the code, and each as a JSON string literal (column names included, via JSON.stringify): no
 * name is ever spliced in raw.
 */
function compileWriter(tree: readonly Node[], includeNulls: boolean): ObjectWriter {
  const renderers: Render[] = [];
  const lines: string[] = [];
  const literal = (text: string) => JSON.stringify(text);
  const leafValue = (leaf: Leaf, v: string) => {
    renderers.push(leaf.render);
    return valueExpression(leaf, renderers.length - 1, v);
  };
  if (includeNulls) {
    // With nulls written, the shape is fixed: the text between two values is a constant.
    const parts: string[] = [];
    let pending = '';
    const walk = (nodes: readonly Node[]) => {
      pending += '{';
      nodes.forEach((node, index) => {
        pending += `${index === 0 ? '' : ','}${node.key}:`;
        if (node.kind === 'leaf') {
          const name = `v${renderers.length}`;
          lines.push(`let ${name} = row[${literal(node.column)}];`);
          const expression = leafValue(node, name);
          parts.push(literal(pending), `(${name} === null || ${name} === undefined ? "null" : ${expression})`);
          pending = '';
        } else {
          walk(node.children);
        }
      });
      pending += '}';
    };
    walk(tree);
    parts.push(literal(pending));
    lines.push(`return ${parts.join(' + ')};`);
  } else {
    // With nulls left out, commas depend on which values are present: each object is built up.
    let objects = 0;
    const walk = (nodes: readonly Node[]): string => {
      const text = `t${objects++}`;
      lines.push(`let ${text} = "";`);
      for (const node of nodes) {
        const key = literal(`${node.key}:`);
        if (node.kind === 'leaf') {
          lines.push(`{ const v = row[${literal(node.column)}]; if (v !== null && v !== undefined) ${text} += (${text} === "" ? "{" : ",") + ${key} + ${leafValue(node, 'v')}; }`);
        } else {
          const nested = walk(node.children);
          lines.push(`${text} += (${text} === "" ? "{" : ",") + ${key} + ${nested};`);
        }
      }
      lines.push(`${text} = ${text} === "" ? "{}" : ${text} + "}";`);
      return text;
    };
    lines.push(`return ${walk(tree)};`);
  }
  const body = `"use strict";\n${SAFE_BIGINTS}return function writeObject(row) {\n${lines.join('\n')}\n};`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from the constants above only
  const factory = new Function('R', 'E', body) as (renderers: readonly Render[], escape: RegExp) => ObjectWriter;
  return factory(renderers, NEEDS_ESCAPE);
}

function chooseColumns(spec: JsonSpec, schema: Schema, usedBy: string): Column[] {
  if (spec.columns !== undefined && spec.exclude !== undefined) {
    throw new SpillwayError(ErrorCode.InvalidConfig, `${usedBy} sets both columns and exclude; give the columns to write, or the columns to leave out, not both`);
  }
  if (spec.exclude !== undefined) {
    requireColumns(schema, spec.exclude, `${usedBy} option exclude`);
    const excluded = new Set(spec.exclude);
    const kept = schema.columns.filter((column) => !excluded.has(column.name));
    if (kept.length === 0) throw new SpillwayError(ErrorCode.InvalidConfig, `${usedBy} excludes every column; leave at least one to write`);
    return kept;
  }
  const names = spec.columns ?? columnNames(schema);
  if (names.length === 0) throw new SpillwayError(ErrorCode.InvalidConfig, `${usedBy} names no columns`);
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate !== undefined) throw new SpillwayError(ErrorCode.InvalidConfig, `${usedBy} lists column "${duplicate}" twice; list each column once`);
  return requireColumns(schema, names, usedBy);
}

/** Compiles the object writer for a spec: which columns, under which names, with which renderers. */
function compileObjectWriter(spec: JsonSpec, schema: Schema, usedBy: string): { columns: string[]; write: ObjectWriter; toValue: ValueWriter | undefined } {
  const columns = chooseColumns(spec, schema, usedBy);
  const mapping = spec.mapping ?? {};
  const mapped = Object.keys(mapping);
  requireColumns(schema, mapped, `${usedBy} option mapping`);
  const unwritten = mapped.filter((name) => !columns.some((column) => column.name === name));
  if (unwritten.length > 0) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `${usedBy} maps ${unwritten.map((name) => `"${name}"`).join(', ')}, which it does not write; add them to columns or remove them from mapping`,
    );
  }
  const timestamps = spec.timestamps ?? JSON_DEFAULTS.timestamps;
  // Own keys only: a column named "constructor" must not pick up Object.prototype's.
  const outputName = (column: Column) => (Object.hasOwn(mapping, column.name) ? (mapping[column.name] as string) : column.name);
  const fields = columns.map((column) => ({ column, name: outputName(column), render: rendererFor(column, timestamps), timestamps }));
  const tree = buildTree(fields, spec.nestedDelimiter ?? JSON_DEFAULTS.nestedDelimiter, usedBy);
  const includeNulls = spec.includeNulls ?? JSON_DEFAULTS.includeNulls;
  const toValue = compileStringifyWriter(tree, includeNulls);
  const write = toValue === undefined ? compileWriter(tree, includeNulls) : (row: Row) => JSON.stringify(toValue(row));
  return { columns: columns.map((column) => column.name), write, toValue };
}

/**
 * Both object writers of a spec, for the test that holds them to the same text: the
 * JSON.stringify one (undefined where it would not be exact) and the concatenating one.
 */
export function jsonObjectWriters(spec: JsonSpec, schema: Schema): { readonly stringify: ObjectWriter | undefined; readonly concatenate: ObjectWriter } {
  const usedBy = 'jsonSpec';
  const { write, toValue } = compileObjectWriter(spec, schema, usedBy);
  if (toValue === undefined) return { stringify: undefined, concatenate: write };
  const includeNulls = spec.includeNulls ?? JSON_DEFAULTS.includeNulls;
  const columns = chooseColumns(spec, schema, usedBy);
  const mapping = spec.mapping ?? {};
  const timestamps = spec.timestamps ?? JSON_DEFAULTS.timestamps;
  const fields = columns.map((column) => ({
    column,
    name: Object.hasOwn(mapping, column.name) ? (mapping[column.name] as string) : column.name,
    render: rendererFor(column, timestamps),
    timestamps,
  }));
  return { stringify: write, concatenate: compileWriter(buildTree(fields, spec.nestedDelimiter ?? JSON_DEFAULTS.nestedDelimiter, usedBy), includeNulls) };
}

const ENVELOPES: Record<JsonUpdateFormat, ChangeEnvelope> = { raw: 'none', insert_delete: 'insert-delete', debezium: 'insert-update-delete' };

/** Renders one change as the JSON text of one event. */
type EventWriter = (change: RowChange) => string;

function eventWriter(updateFormat: JsonUpdateFormat, write: ObjectWriter, usedBy: string): EventWriter {
  switch (updateFormat) {
    case 'raw':
      return (change) => {
        if (change.op !== 'insert') {
          throw new SpillwayError(
            ErrorCode.EncodeFailed,
            `${usedBy} has updateFormat "raw", which writes rows and cannot express ${change.op === 'delete' ? 'a delete' : 'an update'}; use updateFormat "insert_delete" or "debezium"`,
          );
        }
        return write(change.row);
      };
    case 'insert_delete':
      return (change) => {
        if (change.op === 'update') {
          throw new SpillwayError(
            ErrorCode.EncodeFailed,
            `${usedBy} has updateFormat "insert_delete", which has no update event; pass the delete of the old row and the insert of the new row as two changes`,
          );
        }
        return `{"${change.op}":${write(change.row)}}`;
      };
    case 'debezium':
      return (change) => {
        const before = change.op === 'insert' ? 'null' : change.op === 'delete' ? write(change.row) : change.before === undefined ? 'null' : write(change.before);
        const after = change.op === 'delete' ? 'null' : write(change.row);
        const op = change.op === 'insert' ? 'c' : change.op === 'update' ? 'u' : 'd';
        return `{"before":${before},"after":${after},"op":"${op}","ts_ms":${Date.now()}}`;
      };
  }
}

/**
 * One change as the value of one event, for JSON.stringify: the same envelopes as eventWriter,
 * built as objects around the row values, so the whole message is serialized in one pass.
 */
function eventValueWriter(updateFormat: JsonUpdateFormat, toValue: ValueWriter, text: EventWriter): (change: RowChange) => unknown {
  switch (updateFormat) {
    case 'raw':
      return (change) => (change.op === 'insert' ? toValue(change.row) : text(change));
    case 'insert_delete':
      return (change) => (change.op === 'insert' ? { insert: toValue(change.row) } : change.op === 'delete' ? { delete: toValue(change.row) } : text(change));
    case 'debezium':
      return (change) => {
        const before = change.op === 'insert' ? null : change.op === 'delete' ? toValue(change.row) : change.before === undefined ? null : toValue(change.before);
        const after = change.op === 'delete' ? null : toValue(change.row);
        return { before, after, op: change.op === 'insert' ? 'c' : change.op === 'update' ? 'u' : 'd', ts_ms: Date.now() };
      };
  }
}

/**
 * The rows' texts from one JSON.stringify of them all, cut where one object ends and the next
 * begins: `},{"` outside a string (inside one, a quote is escaped) and outside an array (which
 * the caller rules out) is only ever that boundary. A row written as `{}` has no such boundary
 * before it: too few are found, and the batch is refused (undefined), never cut wrong.
 */
function textBatch(rows: readonly Row[], valueOf: (row: Row) => unknown): TextBatch | undefined {
  const values: unknown[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) values[i] = valueOf(rows[i] as Row);
  const text = JSON.stringify(values);
  const starts = new Int32Array(rows.length);
  const ends = new Int32Array(rows.length);
  // After the array's `[`; each boundary's `}` ends a row, and the last row ends before the `]`.
  let at = 1;
  const last = rows.length - 1;
  for (let i = 0; i < last; i++) {
    const boundary = text.indexOf('},{"', at);
    if (boundary < 0) return undefined;
    starts[i] = at;
    ends[i] = boundary + 1;
    at = boundary + 2;
  }
  if (last >= 0) {
    starts[last] = at;
    ends[last] = text.length - 1;
  }
  return { text, starts, ends };
}

export function jsonEncoder(spec: JsonSpec, schema: Schema, part: 'key' | 'value'): Encoder {
  const usedBy = `jsonSpec for the ${part}`;
  const updateFormat = spec.updateFormat ?? JSON_DEFAULTS.updateFormat;
  const array = spec.array ?? JSON_DEFAULTS.array;
  if (part === 'key' && (updateFormat !== 'raw' || array)) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `${usedBy} sets ${updateFormat !== 'raw' ? `updateFormat "${updateFormat}"` : 'array: true'}, which only a value can carry (a key names the row); leave it out of the key spec`,
    );
  }
  if (updateFormat === 'debezium' && array) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `${usedBy} sets updateFormat "debezium" with array: true; a Debezium event is one message, so leave array out (or use updateFormat "insert_delete" for arrays)`,
    );
  }
  const { columns, write, toValue } = compileObjectWriter(spec, schema, usedBy);
  const envelope = ENVELOPES[updateFormat];
  const event = eventWriter(updateFormat, write, usedBy);
  const capabilities = { ignored: false, columns, envelope, arrays: array };
  const refuseHalfUpdate = (): never => {
    throw new SpillwayError(ErrorCode.EncodeFailed, `${usedBy} got an update without the row before it, so it cannot write the delete of the old row; pass \`before\``);
  };
  if (toValue !== undefined) {
    // Everything as values for one JSON.stringify per message. The text writer (`event`) is
    // only reached to refuse a change the envelope cannot express, with its message.
    const eventValue = eventValueWriter(updateFormat, toValue, event);
    const valueOf = updateFormat === 'raw' ? toValue : (row: Row) => eventValue({ op: 'insert', row });
    const text = (row: Row) => JSON.stringify(valueOf(row));
    const encoder: Encoder = {
      format: 'json',
      capabilities,
      encode: (row) => Buffer.from(text(row), 'utf8'),
      encodeText: text,
    };
    // A json column can hold an array of objects, whose text would look like a row boundary.
    if (!schema.columns.some((column) => column.type === 'json' && columns.includes(column.name))) encoder.encodeTexts = (rows) => textBatch(rows, valueOf);
    if (envelope !== 'none') {
      const changeText = (change: RowChange) => JSON.stringify(eventValue(change));
      encoder.encodeChange = (change) => Buffer.from(changeText(change), 'utf8');
      encoder.encodeChangeText = changeText;
    }
    if (array) {
      encoder.encodeChanges = (changes) => {
        const events: unknown[] = [];
        for (const change of changes) {
          if (change.op === 'update' && updateFormat === 'insert_delete') {
            // In an array an update becomes its two events, in the order a reader replays them.
            if (change.before === undefined) refuseHalfUpdate();
            events.push({ delete: toValue(change.before as Row) }, { insert: toValue(change.row) });
          } else {
            events.push(eventValue(change));
          }
        }
        return Buffer.from(JSON.stringify(events), 'utf8');
      };
    }
    return encoder;
  }
  // A row on its own is an insert: in the raw format that is the row itself.
  const text = updateFormat === 'raw' ? write : (row: Row) => event({ op: 'insert', row });
  const encoder: Encoder = {
    format: 'json',
    capabilities,
    encode: (row) => Buffer.from(text(row), 'utf8'),
    encodeText: text,
  };
  if (envelope !== 'none') {
    encoder.encodeChange = (change) => Buffer.from(event(change), 'utf8');
    encoder.encodeChangeText = event;
  }
  if (array) {
    encoder.encodeChanges = (changes) => {
      let text = '';
      for (const change of changes) {
        if (change.op === 'update' && updateFormat === 'insert_delete') {
          // In an array an update becomes its two events, in the order a reader replays them.
          if (change.before === undefined) refuseHalfUpdate();
          text += `${text === '' ? '' : ','}{"delete":${write(change.before as Row)}},{"insert":${write(change.row)}}`;
        } else {
          text += (text === '' ? '' : ',') + event(change);
        }
      }
      return Buffer.from(`[${text}]`, 'utf8');
    };
  }
  return encoder;
}
