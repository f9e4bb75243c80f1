/**
 * LiveTable adds the table operations to every source, and the operators themselves live in this
 * file because each operator is a LiveTable too (one module keeps the class graph acyclic).
 * Every operator is incremental: it turns its parent's change batches into its own, with correct
 * retractions, and never recomputes from scratch.
 */
import { ErrorCode, SpillwayError } from '../errors.ts';
import { type AggByOptions, type AggregationGroup, type AggregationPlan, type Aggregations, planAggregations } from './aggregations.ts';
import {
  type Column,
  type ColumnType,
  type Row,
  type Schema,
  type TimestampUnit,
  type Value,
  keyOf,
  normalizeValue,
  requireColumns,
} from './schema.ts';
import { BaseTable, type Change, type ChangeBatch, type RowId, type Table } from './table.ts';

/** A computed column: a function of the row and its position `i` (Deephaven's `i`). */
export type Formula = (row: Row, i: number) => unknown;

export type ColumnFormula =
  | Formula
  | {
      readonly type: ColumnType;
      readonly nullable?: boolean;
      readonly unit?: TimestampUnit;
      readonly precision?: number;
      readonly scale?: number;
      readonly formula: Formula;
    };

export abstract class LiveTable extends BaseTable {
  /** Adds (or replaces) columns computed from each row. */
  update(columns: Readonly<Record<string, ColumnFormula>>): LiveTable {
    return new UpdateTable(this, columns);
  }

  /** Keeps the last row for each key, in Deephaven's words `last_by`. */
  lastBy(keys: readonly string[]): LiveTable {
    return new LastByTable(this, keys);
  }

  /** Keeps the rows for which the predicate holds. */
  where(predicate: (row: Row) => boolean): LiveTable {
    return new WhereTable(this, predicate);
  }

  /** Keeps the named columns, in that order. */
  select(columns: readonly string[]): LiveTable {
    return new SelectTable(this, columns);
  }

  /**
   * Aggregates by key columns (Deephaven's `agg_by`), keyed by them: one row per group, updated
   * as rows come, change and go. With no keys, one row for the whole table while it has rows
   * (always, with `preserveEmpty`).
   * @example table.aggBy({ n: count(), total: sum('amount'), low: min('amount'), mean: avg('amount') }, ['region'])
   */
  aggBy(aggregations: Aggregations, keys: readonly string[] = [], options: AggByOptions = {}): LiveTable {
    return new AggByTable(this, aggregations, keys, options);
  }
}

/** The last row per key of any table (the operator behind `lastBy`). */
export function lastByOf(table: Table, keys: readonly string[]): LiveTable {
  return new LastByTable(table, keys);
}

/** An operator: a LiveTable fed by one parent table, starting from the parent's snapshot. */
abstract class OperatorTable extends LiveTable {
  protected readonly parent: Table;

  protected constructor(parent: Table, schema: Schema) {
    super(schema, [parent]);
    this.parent = parent;
  }

  /** Subscribes to the parent and replays its current rows as inserts. */
  protected attach(): void {
    const snapshot: Change[] = [];
    for (const [id, row] of this.parent.rows()) snapshot.push({ kind: 'insert', id, row });
    this.parent.subscribe({
      onChanges: (batch) => this.emit(this.transform(batch)),
      onEnd: () => this.end(),
    });
    this.emit(this.transform(snapshot));
    if (this.parent.ended) this.end();
  }

  protected abstract transform(batch: ChangeBatch): Change[];
}

function sampleValue(column: Column): Value {
  switch (column.type) {
    case 'boolean':
      return false;
    case 'int32':
    case 'float64':
      return 0;
    case 'int64':
    case 'timestamp':
      return 0n;
    case 'decimal':
      return '0';
    case 'string':
    case 'date':
      return column.type === 'date' ? '1970-01-01' : '';
    case 'bytes':
      return new Uint8Array(0);
    case 'json':
      return null;
  }
}

/** The column type of a formula's value; integers are int32 like Deephaven's `i`. */
function inferType(name: string, value: unknown): ColumnType {
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') return Number.isInteger(value) && Math.abs(value) <= 2 ** 31 - 1 ? 'int32' : 'float64';
  if (typeof value === 'bigint') return 'int64';
  if (typeof value === 'string') return 'string';
  if (value instanceof Uint8Array) return 'bytes';
  if (value instanceof Date) return 'timestamp';
  if (value !== null && typeof value === 'object') return 'json';
  throw new SpillwayError(
    ErrorCode.InvalidConfig,
    `cannot tell the type of column "${name}" from its value ${String(value)}; ` +
      `declare it: update({ ${name}: { type: 'string', nullable: true, formula } })`,
  );
}

class UpdateTable extends OperatorTable {
  readonly appendOnly: boolean;
  readonly #formulas: { column: Column; formula: Formula }[];
  readonly #positions = new Map<RowId, number>();
  #nextPosition = 0;

  constructor(parent: Table, columns: Readonly<Record<string, ColumnFormula>>) {
    const first: IteratorResult<[RowId, Row]> = parent.rows().next();
    const probeRow: Row = first.done === true ? sampleRow(parent.schema) : first.value[1];
    const formulas = Object.entries(columns).map(([name, declared]) => {
      if (typeof declared === 'function') {
        let probe: unknown;
        try {
          probe = declared(probeRow, 0);
        } catch (error) {
          throw new SpillwayError(
            ErrorCode.InvalidConfig,
            `column "${name}": its formula failed on a sample row (${error instanceof Error ? error.message : String(error)}); ` +
              `declare its type so it need not be sampled: { type: 'int64', formula }`,
            { cause: error },
          );
        }
        return { column: { name, type: inferType(name, probe), nullable: false }, formula: declared };
      }
      const column: Column = {
        name,
        type: declared.type,
        nullable: declared.nullable ?? false,
        ...(declared.type === 'timestamp' ? { unit: declared.unit ?? 'ns' } : {}),
        ...(declared.precision === undefined ? {} : { precision: declared.precision }),
        ...(declared.scale === undefined ? {} : { scale: declared.scale }),
      };
      return { column, formula: declared.formula };
    });
    const replaced = new Set(formulas.map((entry) => entry.column.name));
    super(parent, {
      columns: [...parent.schema.columns.filter((column) => !replaced.has(column.name)), ...formulas.map((f) => f.column)],
      ...(parent.schema.primaryKey === undefined || parent.schema.primaryKey.some((key) => replaced.has(key))
        ? {}
        : { primaryKey: parent.schema.primaryKey }),
    });
    this.appendOnly = parent.appendOnly;
    this.#formulas = formulas;
    this.attach();
  }

  #compute(id: RowId, row: Row): Row {
    let position = this.#positions.get(id);
    if (position === undefined) {
      position = this.#nextPosition++;
      this.#positions.set(id, position);
    }
    const out: Record<string, Value> = { ...row };
    for (const { column, formula } of this.#formulas) {
      let value: unknown;
      try {
        value = formula(row, position);
      } catch (error) {
        throw new SpillwayError(
          ErrorCode.InvalidValue,
          `column "${column.name}": its formula threw on row ${position}: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      }
      out[column.name] = normalizeValue(column, value);
    }
    return out;
  }

  protected transform(batch: ChangeBatch): Change[] {
    return batch.map((change): Change => {
      switch (change.kind) {
        case 'insert':
          return { kind: 'insert', id: change.id, row: this.#compute(change.id, change.row) };
        case 'update':
          return { kind: 'update', id: change.id, before: this.row(change.id) ?? change.before, row: this.#compute(change.id, change.row) };
        case 'delete': {
          const before = this.row(change.id) ?? change.row;
          this.#positions.delete(change.id);
          return { kind: 'delete', id: change.id, row: before };
        }
      }
    });
  }
}

function sampleRow(schema: Schema): Row {
  return Object.fromEntries(schema.columns.map((column) => [column.name, sampleValue(column)]));
}

/**
 * The last row per key. For an append-only parent only the newest row per key is kept; otherwise
 * every row per key is kept in arrival order, so deleting the newest falls back to the one before.
 */
class LastByTable extends OperatorTable {
  readonly appendOnly = false;
  readonly #keys: readonly string[];
  /** Per key, the parent's row ids in arrival order (last = current). */
  readonly #history = new Map<string, Map<RowId, Row>>();
  readonly #keyOfParentRow = new Map<RowId, string>();

  constructor(parent: Table, keys: readonly string[]) {
    if (keys.length === 0) throw new SpillwayError(ErrorCode.InvalidConfig, 'lastBy needs at least one key column');
    requireColumns(parent.schema, keys, 'lastBy');
    super(parent, { columns: parent.schema.columns, primaryKey: [...keys] });
    this.#keys = keys;
    this.attach();
  }

  #current(key: string): Row | undefined {
    const rows = this.#history.get(key);
    if (rows === undefined) return undefined;
    let last: Row | undefined;
    for (const row of rows.values()) last = row;
    return last;
  }

  protected transform(batch: ChangeBatch): Change[] {
    const touched = new Map<string, Row | undefined>();
    const remember = (key: string) => {
      if (!touched.has(key)) touched.set(key, this.#current(key));
    };
    for (const change of batch) {
      if (change.kind !== 'insert') {
        const oldKey = this.#keyOfParentRow.get(change.id);
        if (oldKey !== undefined) {
          remember(oldKey);
          const rows = this.#history.get(oldKey);
          rows?.delete(change.id);
          if (rows?.size === 0) this.#history.delete(oldKey);
          this.#keyOfParentRow.delete(change.id);
        }
      }
      if (change.kind !== 'delete') {
        const key = keyOf(change.row, this.#keys);
        remember(key);
        let rows = this.#history.get(key);
        if (rows === undefined) {
          rows = new Map();
          this.#history.set(key, rows);
        }
        if (this.parent.appendOnly) rows.clear();
        rows.set(change.id, change.row);
        // An append-only parent never updates or deletes, so its row ids need not be remembered.
        if (!this.parent.appendOnly) this.#keyOfParentRow.set(change.id, key);
      }
    }
    const out: Change[] = [];
    for (const [key, before] of touched) {
      const after = this.#current(key);
      if (before === undefined && after !== undefined) out.push({ kind: 'insert', id: key, row: after });
      else if (before !== undefined && after === undefined) out.push({ kind: 'delete', id: key, row: before });
      else if (before !== undefined && after !== undefined && before !== after) out.push({ kind: 'update', id: key, before, row: after });
    }
    return out;
  }
}

class WhereTable extends OperatorTable {
  readonly appendOnly: boolean;
  readonly #predicate: (row: Row) => boolean;

  constructor(parent: Table, predicate: (row: Row) => boolean) {
    super(parent, parent.schema);
    this.appendOnly = parent.appendOnly;
    this.#predicate = predicate;
    this.attach();
  }

  protected transform(batch: ChangeBatch): Change[] {
    const out: Change[] = [];
    for (const change of batch) {
      const wasIn = this.row(change.id);
      const isIn = change.kind !== 'delete' && this.#predicate(change.row);
      if (wasIn !== undefined && isIn) out.push({ kind: 'update', id: change.id, before: wasIn, row: change.row });
      else if (wasIn !== undefined) out.push({ kind: 'delete', id: change.id, row: wasIn });
      else if (isIn) out.push({ kind: 'insert', id: change.id, row: change.row });
    }
    return out;
  }
}

class SelectTable extends OperatorTable {
  readonly appendOnly: boolean;
  readonly #columns: readonly string[];

  constructor(parent: Table, columns: readonly string[]) {
    const kept = requireColumns(parent.schema, columns, 'select');
    const key = parent.schema.primaryKey;
    super(parent, {
      columns: kept,
      ...(key !== undefined && key.every((name) => columns.includes(name)) ? { primaryKey: key } : {}),
    });
    this.appendOnly = parent.appendOnly;
    this.#columns = columns;
    this.attach();
  }

  #project(row: Row): Row {
    const out: Record<string, Value> = {};
    for (const name of this.#columns) out[name] = row[name] ?? null;
    return out;
  }

  protected transform(batch: ChangeBatch): Change[] {
    return batch.map((change): Change =>
      change.kind === 'update'
        ? { kind: 'update', id: change.id, before: this.#project(change.before), row: this.#project(change.row) }
        : { kind: change.kind, id: change.id, row: this.#project(change.row) },
    );
  }
}

/**
 * Incremental aggregation. Each parent change is removed from its old group and added to its new
 * one; after the batch, every touched group's output row is compared with what was emitted, and
 * only real differences go out: an insert for a new group, a delete when a group's last row goes
 * (unless empty groups are kept), an update otherwise.
 */
class AggByTable extends OperatorTable {
  readonly appendOnly = false;
  readonly #plan: AggregationPlan;
  readonly #groups = new Map<string, AggregationGroup>();

  constructor(parent: Table, aggregations: Aggregations, keys: readonly string[], options: AggByOptions) {
    const plan = planAggregations(parent.schema, aggregations, keys, options);
    super(parent, plan.schema);
    this.#plan = plan;
    if (keys.length === 0 && plan.preserveEmpty) {
      const global = plan.newGroup({});
      this.#groups.set(GLOBAL_GROUP, global);
      this.emit([{ kind: 'insert', id: GLOBAL_GROUP, row: global.output() }]);
    }
    this.attach();
  }

  protected transform(batch: ChangeBatch): Change[] {
    const keys = this.#plan.keys;
    /** Touched groups, in order of first touch, with the row emitted for them before this batch. */
    const touched = new Map<string, Row | undefined>();
    const touch = (id: string): void => {
      if (!touched.has(id)) touched.set(id, this.row(id));
    };
    for (const change of batch) {
      if (change.kind !== 'insert') {
        const old = change.kind === 'update' ? change.before : change.row;
        const id = keys.length === 0 ? GLOBAL_GROUP : keyOf(old, keys);
        const group = this.#groups.get(id);
        if (group === undefined) {
          throw new SpillwayError(ErrorCode.Internal, `aggBy: the parent retracted row ${String(change.id)}, which no group holds`);
        }
        touch(id);
        group.remove(old);
        if (group.rowCount === 0 && !this.#plan.preserveEmpty) this.#groups.delete(id);
      }
      if (change.kind !== 'delete') {
        const id = keys.length === 0 ? GLOBAL_GROUP : keyOf(change.row, keys);
        let group = this.#groups.get(id);
        if (group === undefined) {
          group = this.#plan.newGroup(Object.fromEntries(keys.map((key) => [key, change.row[key] ?? null])));
          this.#groups.set(id, group);
        }
        touch(id);
        group.add(change.row);
      }
    }
    const out: Change[] = [];
    for (const [id, before] of touched) {
      const after = this.#groups.get(id)?.output();
      if (before === undefined && after !== undefined) out.push({ kind: 'insert', id, row: after });
      else if (before !== undefined && after === undefined) out.push({ kind: 'delete', id, row: before });
      else if (before !== undefined && after !== undefined && !sameRow(before, after)) out.push({ kind: 'update', id, before, row: after });
    }
    return out;
  }
}

/** The row id of the one group of an aggregation without keys. */
const GLOBAL_GROUP = '';

/** Aggregate rows hold only numbers, bigints, strings and nulls, so Object.is compares them (NaN equals NaN). */
function sameRow(a: Row, b: Row): boolean {
  for (const name in b) if (!Object.is(a[name], b[name])) return false;
  return true;
}
