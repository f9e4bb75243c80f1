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
  type ColumnOptions,
  type ColumnType,
  type Row,
  type Schema,
  type Value,
  declaredColumn,
  keyOf,
  normalizeValue,
  requireColumns,
} from './schema.ts';
import { BaseTable, type Change, type ChangeBatch, type RowId, type Subscription, type Table } from './table.ts';

/** A computed column: a function of the row and its position `i` (Deephaven's `i`). */
export type Formula = (row: Row, i: number) => unknown;

export type ColumnFormula = Formula | (ColumnOptions & { readonly formula: Formula });

export abstract class LiveTable extends BaseTable {
  /**
   * Adds (or replaces) columns computed from each row.
   *
   * Replay: where, select, lastBy and aggBy are functions of their input, so a replayed source
   * gives the same rows again; `update` is too as long as its formulas are functions of the row.
   * A formula that draws random numbers, reads the clock or counts calls gives other values on a
   * replay, so a sink that resumes cannot promise the rows it writes again equal the first ones.
   * `i` counts this table's rows from where it started: after a source resumes from a position it
   * starts again at 0, so a pipeline whose formulas use `i` must be replayed from its start.
   */
  update(columns: Readonly<Record<string, ColumnFormula>>): DerivedTable {
    return new UpdateTable(this, columns);
  }

  /** Keeps the last row for each key, in Deephaven's words `last_by`. */
  lastBy(keys: readonly string[]): DerivedTable {
    return new LastByTable(this, keys);
  }

  /** Keeps the rows for which the predicate holds. */
  where(predicate: (row: Row) => boolean): DerivedTable {
    return new WhereTable(this, predicate);
  }

  /** Keeps the named columns, in that order. */
  select(columns: readonly string[]): DerivedTable {
    return new SelectTable(this, columns);
  }

  /**
   * Aggregates by key columns (Deephaven's `agg_by`), keyed by them: one row per group, updated
   * as rows come, change and go. With no keys, one row for the whole table while it has rows
   * (always, with `preserveEmpty`).
   * @example table.aggBy({ n: count(), total: sum('amount'), low: min('amount'), mean: avg('amount') }, ['region'])
   */
  aggBy(aggregations: Aggregations, keys: readonly string[] = [], options: AggByOptions = {}): DerivedTable {
    return new AggByTable(this, aggregations, keys, options);
  }
}

/**
 * The last row per key of any table (the operator behind a sink's `lastByKeyColumns`). Closing
 * it leaves `table` open even when nothing else is computed from it: the sink owns this table,
 * not `table`.
 */
export function lastByOf(table: Table, keys: readonly string[]): DerivedTable {
  return new LastByTable(table, keys, false);
}

/**
 * A table computed from another by an operator (update, lastBy, where, select, aggBy): a
 * LiveTable fed by one parent table, starting from the parent's snapshot. Its `close()` is
 * immediate.
 */
export abstract class DerivedTable extends LiveTable {
  protected readonly parent: Table;
  /** Whether closing this table may close the parent (not for a sink's own lastBy). */
  readonly #holdsParent: boolean;
  #subscription: Subscription | undefined;

  protected constructor(parent: Table, schema: Schema, holdsParent = true) {
    super(schema, [parent]);
    this.parent = parent;
    this.#holdsParent = holdsParent;
  }

  /** Subscribes to the parent and replays its current rows as inserts. */
  protected attach(): void {
    const snapshot: Change[] = [];
    for (const [id, row] of this.parent.rows()) snapshot.push({ kind: 'insert', id, row });
    // Positions pass through unchanged: an operator's batch reflects its source up to the same point.
    this.#subscription = this.parent.subscribe({
      onChanges: (batch, position) => this.emit(this.transform(batch), position),
      onPosition: (position) => this.emit([], position),
      onEnd: () => this.end(),
      downstream: this.#holdsParent,
    });
    this.emit(this.transform(snapshot), this.parent.position);
    if (this.parent.ended) this.end();
  }

  /** Ends this table and leaves the parent, which closes in turn when no other table is computed from it. */
  override close(): void {
    this.end();
    this.#subscription?.unsubscribe();
    this.#subscription = undefined;
  }

  protected abstract transform(batch: ChangeBatch): Change[];
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
    `cannot tell the type of column "${name}" from its value ${String(value)} on the first row; ` +
      `declare it: update({ ${name}: { type: 'string', nullable: true, formula } })`,
  );
}

/** A formula's column, and the view of it its values are checked against. */
interface PlannedFormula {
  readonly column: Column;
  readonly formula: Formula;
  /**
   * A column carried from the row keeps its unit for encoders, but the formula hands back the
   * stored value (timestamps in nanoseconds), so values are checked as nanoseconds.
   */
  readonly check: Column;
}

/**
 * The type of an undeclared formula's column, from its value on the table's first real row. When
 * the value is one the formula read from the row (`(r) => r.Timestamp`), the new column is a copy
 * of that column's type — timestamp with its unit, date, decimal with precision and scale, and its
 * nullability — since bigints, strings and numbers alone cannot tell those apart. Otherwise the
 * type follows the value (see inferType).
 */
function typeFromFirstRow(name: string, value: unknown, row: Row, read: readonly string[], schema: Schema): Column {
  for (let index = read.length - 1; index >= 0; index--) {
    const source = schema.columns.find((column) => column.name === read[index]);
    if (source !== undefined && Object.is(row[source.name], value ?? null)) return { ...source, name };
  }
  const type = inferType(name, value);
  // A Date is exact to the millisecond, so that is the precision encoders render.
  return { name, type, nullable: false, ...(type === 'timestamp' ? { unit: 'ms' as const } : {}) };
}

/** The row as a formula sees it, noting which columns it reads. */
function readingRow(row: Row, read: string[]): Row {
  return new Proxy(row, {
    get(target, property, receiver) {
      if (typeof property === 'string' && Object.hasOwn(target, property)) read.push(property);
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}

class UpdateTable extends DerivedTable {
  readonly appendOnly: boolean;
  readonly #formulas: readonly PlannedFormula[];
  readonly #positions = new Map<RowId, number>();
  #nextPosition = 0;
  /** The formulas' values on the first row, computed while typing them; used once, for that row. */
  #firstValues: { readonly id: RowId; readonly values: readonly unknown[] } | undefined;

  constructor(parent: Table, columns: Readonly<Record<string, ColumnFormula>>) {
    const entries = Object.entries(columns);
    for (const [name, declared] of entries) {
      if (typeof declared === 'function') continue;
      // The declaration is checked first, so a wrong type or option is named before any formula runs.
      declaredColumn(name, declared, 'update()', ['formula']);
      if (typeof (declared as { formula?: unknown }).formula !== 'function') {
        throw new SpillwayError(
          ErrorCode.InvalidConfig,
          `update(): column "${name}" is declared without a formula; give one: update({ ${name}: { type: '${typeof (declared as unknown) === 'string' ? (declared as unknown as string) : declared.type}', formula: (row) => … } }), or pass the function alone to learn the type from the first row`,
        );
      }
    }
    const undeclared = entries.filter(([, declared]) => typeof declared === 'function').map(([name]) => name);
    // A parent whose rows went to sinks without being kept offers its newest row to type by.
    const head: IteratorResult<[RowId, Row], unknown> = parent.rows().next();
    const sample: [RowId, Row] | undefined = parent instanceof BaseTable ? parent.sampleRow() : head.done === true ? undefined : head.value;
    const first: IteratorResult<[RowId, Row]> = sample === undefined ? { done: true, value: undefined } : { done: false, value: sample };
    let firstValues: { id: RowId; values: unknown[] } | undefined;
    let firstRow: Row | undefined;
    const reads: string[][] = [];
    if (undeclared.length > 0) {
      if (first.done === true) {
        // Calling a formula on an invented row would run its side effects and type it by a value
        // it never really gives, so a table without rows asks for the type instead.
        throw new SpillwayError(
          ErrorCode.InvalidConfig,
          `update(): the table has no rows yet, so the type of ${undeclared.map((name) => `"${name}"`).join(', ')} cannot be ` +
            `learned from a value without calling the formula on a made-up row; declare it: ` +
            `update({ ${undeclared[0] ?? 'x'}: { type: 'float64', formula } }) (types: boolean, int32, int64, float64, decimal, string, bytes, date, timestamp, json)`,
        );
      }
      // Every formula runs once on the real first row, in order; its values are that row's values.
      const [id, row] = first.value;
      firstRow = row;
      const values = entries.map(([name, declared]) => {
        const read: string[] = [];
        reads.push(read);
        const formula = typeof declared === 'function' ? declared : declared.formula;
        try {
          return formula(readingRow(row, read), 0);
        } catch (error) {
          throw new SpillwayError(
            ErrorCode.InvalidValue,
            `column "${name}": its formula threw on row 0: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          );
        }
      });
      firstValues = { id, values };
    }
    const formulas = entries.map(([name, declared], index): PlannedFormula => {
      if (typeof declared !== 'function') {
        const column = declaredColumn(name, declared, 'update()', ['formula']);
        return { column, formula: declared.formula, check: column };
      }
      const column = typeFromFirstRow(name, firstValues?.values[index], firstRow as Row, reads[index] ?? [], parent.schema);
      return { column, formula: declared, check: column.type === 'timestamp' ? { ...column, unit: 'ns' } : column };
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
    this.#firstValues = firstValues;
    this.attach();
  }

  #compute(id: RowId, row: Row): Row {
    let position = this.#positions.get(id);
    if (position === undefined) {
      position = this.#nextPosition++;
      // Rows of an append-only parent never come again, so their positions need not be kept.
      if (!this.parent.appendOnly) this.#positions.set(id, position);
    }
    const precomputed = this.#firstValues !== undefined && this.#firstValues.id === id ? this.#firstValues.values : undefined;
    this.#firstValues = undefined;
    const out: Record<string, Value> = { ...row };
    this.#formulas.forEach(({ column, formula, check }, index) => {
      let value: unknown;
      if (precomputed !== undefined) value = precomputed[index];
      else {
        try {
          value = formula(row, position);
        } catch (error) {
          throw new SpillwayError(
            ErrorCode.InvalidValue,
            `column "${column.name}": its formula threw on row ${position}: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          );
        }
      }
      out[column.name] = normalizeValue(check, value);
    });
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

/**
 * The last row per key. For an append-only parent only the newest row per key is kept; otherwise
 * every row per key is kept in arrival order, so deleting the newest falls back to the one before.
 */
class LastByTable extends DerivedTable {
  readonly appendOnly = false;
  readonly #keys: readonly string[];
  /** Per key, the parent's row ids in arrival order (last = current). */
  readonly #history = new Map<string, Map<RowId, Row>>();
  readonly #keyOfParentRow = new Map<RowId, string>();

  constructor(parent: Table, keys: readonly string[], holdsParent = true) {
    if (keys.length === 0) throw new SpillwayError(ErrorCode.InvalidConfig, 'lastBy needs at least one key column');
    requireColumns(parent.schema, keys, 'lastBy');
    super(parent, { columns: parent.schema.columns, primaryKey: [...keys] }, holdsParent);
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

class WhereTable extends DerivedTable {
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

class SelectTable extends DerivedTable {
  readonly appendOnly: boolean;
  readonly #columns: readonly string[];
  /** The parent's columns, all and in order (`SELECT *`): its rows are this table's as they are. */
  readonly #everyColumn: boolean;

  constructor(parent: Table, columns: readonly string[]) {
    const kept = requireColumns(parent.schema, columns, 'select');
    const key = parent.schema.primaryKey;
    super(parent, {
      columns: kept,
      ...(key !== undefined && key.every((name) => columns.includes(name)) ? { primaryKey: key } : {}),
    });
    this.appendOnly = parent.appendOnly;
    this.#columns = columns;
    this.#everyColumn = columns.length === parent.schema.columns.length && columns.every((name, index) => parent.schema.columns[index]?.name === name);
    this.attach();
  }

  #project(row: Row): Row {
    const out: Record<string, Value> = {};
    for (const name of this.#columns) out[name] = row[name] ?? null;
    return out;
  }

  protected transform(batch: ChangeBatch): Change[] {
    // Rows are values no table changes once made, so the parent's are shared, not copied.
    if (this.#everyColumn) return batch.slice();
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
class AggByTable extends DerivedTable {
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
