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
 * The writer is compiled per schema: output paths, field prefixes and per-type renderers are
 * fixed up front; a row only runs the renderers.
 */
import { ErrorCode, SpillwayError } from '../errors.ts';
import { type Column, type Row, type Schema, columnNames, formatIsoTimestamp, requireColumns } from '../model/schema.ts';
import { z } from 'zod';
import type { ChangeEnvelope, Encoder, RowChange } from './encoder.ts';

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
  readonly render: Render;
}
interface Branch {
  readonly kind: 'branch';
  readonly key: string;
  readonly children: Node[];
}
type Node = Leaf | Branch;

/** Turns output names into a tree of objects; fails on a name used twice or both as a field and an object. */
function buildTree(fields: readonly { column: Column; name: string; render: Render }[], delimiter: string | false, usedBy: string): Node[] {
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
        level.push({ kind: 'leaf', key, column: field.column.name, render: field.render });
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

/**
 * With nulls written, the shape of every object is fixed: the text between two values is a
 * constant, so an object is a list of (constant prefix, renderer) pairs and a closing suffix.
 */
function fixedShapeWriter(tree: readonly Node[]): ObjectWriter {
  const steps: { prefix: string; column: string; render: Render }[] = [];
  let pending = '';
  const walk = (nodes: readonly Node[]) => {
    pending += '{';
    nodes.forEach((node, index) => {
      pending += `${index === 0 ? '' : ','}${node.key}:`;
      if (node.kind === 'leaf') {
        steps.push({ prefix: pending, column: node.column, render: node.render });
        pending = '';
      } else {
        walk(node.children);
      }
    });
    pending += '}';
  };
  walk(tree);
  const suffix = pending;
  return (row) => {
    let text = '';
    for (const step of steps) {
      const value = row[step.column];
      text += step.prefix + (value === null || value === undefined ? 'null' : step.render(value));
    }
    return text + suffix;
  };
}

/** With nulls left out, commas depend on which values are present, so each object is assembled per row. */
function nullSkippingWriter(tree: readonly Node[]): ObjectWriter {
  const children = tree.map((node) =>
    node.kind === 'leaf'
      ? { key: `${node.key}:`, column: node.column, render: node.render, nested: undefined }
      : { key: `${node.key}:`, column: '', render: undefined, nested: nullSkippingWriter(node.children) },
  );
  return (row) => {
    let text = '';
    for (const child of children) {
      let rendered: string;
      if (child.nested === undefined) {
        const value = row[child.column];
        if (value === null || value === undefined) continue;
        rendered = child.render(value);
      } else {
        rendered = child.nested(row);
      }
      text += (text === '' ? '{' : ',') + child.key + rendered;
    }
    return text === '' ? '{}' : `${text}}`;
  };
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
function compileObjectWriter(spec: JsonSpec, schema: Schema, usedBy: string): { columns: string[]; write: ObjectWriter } {
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
  const fields = columns.map((column) => ({ column, name: outputName(column), render: rendererFor(column, timestamps) }));
  const tree = buildTree(fields, spec.nestedDelimiter ?? JSON_DEFAULTS.nestedDelimiter, usedBy);
  const write = (spec.includeNulls ?? JSON_DEFAULTS.includeNulls) ? fixedShapeWriter(tree) : nullSkippingWriter(tree);
  return { columns: columns.map((column) => column.name), write };
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
  const { columns, write } = compileObjectWriter(spec, schema, usedBy);
  const envelope = ENVELOPES[updateFormat];
  const event = eventWriter(updateFormat, write, usedBy);
  const encoder: Encoder = {
    format: 'json',
    capabilities: { ignored: false, columns, envelope, arrays: array },
    // A row on its own is an insert: in the raw format that is the row itself.
    encode: updateFormat === 'raw' ? (row) => Buffer.from(write(row), 'utf8') : (row) => Buffer.from(event({ op: 'insert', row }), 'utf8'),
  };
  if (envelope !== 'none') encoder.encodeChange = (change) => Buffer.from(event(change), 'utf8');
  if (array) {
    encoder.encodeChanges = (changes) => {
      let text = '';
      for (const change of changes) {
        if (change.op === 'update' && updateFormat === 'insert_delete') {
          // In an array an update becomes its two events, in the order a reader replays them.
          if (change.before === undefined) {
            throw new SpillwayError(ErrorCode.EncodeFailed, `${usedBy} got an update without the row before it, so it cannot write the delete of the old row; pass \`before\``);
          }
          text += `${text === '' ? '' : ','}{"delete":${write(change.before)}},{"insert":${write(change.row)}}`;
        } else {
          text += (text === '' ? '' : ',') + event(change);
        }
      }
      return Buffer.from(`[${text}]`, 'utf8');
    };
  }
  return encoder;
}
