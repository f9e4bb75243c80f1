/**
 * Tables and their changelogs. A table has a schema, a current set of rows (each with a stable
 * id), and emits ordered change batches: insert, delete, update (old row → new row). Operators
 * subscribe to a parent and emit their own changes, so every derived table is incremental.
 */
import { ErrorCode, SpillwayError } from '../errors.ts';
import type { SourcePosition } from './position.ts';
import type { Row, Schema } from './schema.ts';

/** A row's identity within its table: the primary key for keyed tables, a counter otherwise. */
export type RowId = string | number;

export type Change =
  | { readonly kind: 'insert'; readonly id: RowId; readonly row: Row }
  | { readonly kind: 'delete'; readonly id: RowId; readonly row: Row }
  | { readonly kind: 'update'; readonly id: RowId; readonly before: Row; readonly row: Row };

export type ChangeBatch = readonly Change[];

export interface TableListener {
  /**
   * Called synchronously, in order, with each batch of changes and the position its source
   * reached with it (undefined only for a table that is not fed by a source with positions).
   * Writing every batch up to one with position P means "everything up to P" is written.
   */
  onChanges(batch: ChangeBatch, position?: SourcePosition): void;
  /**
   * The source moved on without changing this table (lines of a file that a `where` filtered
   * out, blank lines): everything up to `position` is now reflected. Optional: a listener that
   * ignores it only commits later than it could.
   */
  onPosition?(position: SourcePosition): void;
  /** The table will not change again. */
  onEnd?(): void;
  /**
   * Set by a table computed from this one (an operator). When the last listener to leave is such
   * a table, nothing is left to compute for, so this table closes too and releases its own
   * upstream (a time table stops its timer). A sink is not downstream in this sense: stopping a
   * sink leaves its table open for the next one.
   */
  readonly downstream?: boolean;
}

export interface Subscription {
  unsubscribe(): void;
}

/**
 * Backpressure: a consumer of a table (a sink) that cannot keep up closes its gate, and the
 * sources upstream wait for every gate to open before producing more. Sources that pull (files,
 * async iterables, Kafka topics) wait by themselves; a program that pushes into an input table
 * awaits `whenWritable()`.
 */
export interface FlowGate {
  readonly open: boolean;
  /** Resolves when the gate is open. */
  whenOpen(): Promise<void>;
}

export interface Table {
  readonly schema: Schema;
  /** True when rows are only ever inserted (never updated or deleted). */
  readonly appendOnly: boolean;
  /** True once the table can no longer change. */
  readonly ended: boolean;
  /** The current rows with their ids, in insertion order. */
  rows(): IterableIterator<[RowId, Row]>;
  readonly size: number;
  /** The tables this one is computed from (none for a source). */
  readonly upstream: readonly Table[];
  /**
   * The position of the source this table is computed from, as of the last batch: the current
   * rows (`rows()`) reflect everything up to it. Undefined before a source has a position.
   */
  readonly position: SourcePosition | undefined;
  /** Why a source ended early (a bad row in a file, a failed iterable); undefined when it did not fail. */
  readonly failure?: SpillwayError | undefined;
  /**
   * Flux's group key: the columns whose values tell the Flux tables in this one apart (sample
   * data's `tag`). Flux's `hash` balancer routes by it; undefined for tables that are not Flux's.
   */
  readonly groupKey?: readonly string[];
  /**
   * Memory: an append-only stream (a time table, a file, an async iterable, and the append-only
   * tables computed from them) does not keep the rows it passes to its listeners, since each
   * listener has them once it is called (a sink queues them until written); `rows()` then holds
   * only rows made while nobody listened. A consumer that reads `rows()` again later (complete
   * mode writes every row at each trigger) asks the table to keep them; returns the release.
   */
  retainRows(): () => void;
  /** Holds back the sources this table comes from while the gate is closed; returns the release. */
  addGate(gate: FlowGate): () => void;
  /**
   * Registers a listener for changes after this call. Take `rows()` and subscribe in the same
   * synchronous step to see the snapshot followed by every later change, nothing twice.
   */
  subscribe(listener: TableListener): Subscription;
  /**
   * Ends the table (its sinks write what they have and finish) and releases what it holds
   * upstream: an operator unsubscribes from its parent, and a parent left without consumers
   * closes in turn, up to the source, which stops producing. Closing twice is harmless.
   */
  close(): void | Promise<void>;
}

/** The failure of the first failed source a table is computed from, if any. */
export function sourceFailure(table: Table): SpillwayError | undefined {
  if (table.failure !== undefined) return table.failure;
  for (const parent of table.upstream) {
    const failure = sourceFailure(parent);
    if (failure !== undefined) return failure;
  }
  return undefined;
}

/**
 * The shared machinery of every table: current rows, listeners, and delivery of batches. Sources
 * and operators extend it and call `emit` with the changes they produce.
 */
export abstract class BaseTable implements Table {
  readonly schema: Schema;
  abstract readonly appendOnly: boolean;
  readonly #rows = new Map<RowId, Row>();
  readonly upstream: readonly Table[];
  readonly #listeners = new Set<TableListener>();
  readonly #gates = new Set<FlowGate>();
  #ended = false;
  #position: SourcePosition | undefined;
  #retainers = 0;
  /** The newest row passed on without being kept (an append-only table with listeners). */
  #latest: [RowId, Row] | undefined;

  protected constructor(schema: Schema, upstream: readonly Table[] = []) {
    this.schema = schema;
    this.upstream = upstream;
  }

  addGate(gate: FlowGate): () => void {
    if (this.upstream.length > 0) {
      const releases = this.upstream.map((table) => table.addGate(gate));
      return () => releases.forEach((release) => release());
    }
    this.#gates.add(gate);
    return () => this.#gates.delete(gate);
  }

  /** True when every consumer downstream can take more changes now. */
  protected get writable(): boolean {
    for (const gate of this.#gates) if (!gate.open) return false;
    return true;
  }

  /** Resolves when every consumer downstream can take more changes (at once, when they all can). */
  async whenWritable(): Promise<void> {
    for (;;) {
      const closed = [...this.#gates].find((gate) => !gate.open);
      if (closed === undefined) return;
      await closed.whenOpen();
    }
  }

  get ended(): boolean {
    return this.#ended;
  }

  retainRows(): () => void {
    this.#retainers++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#retainers--;
    };
  }

  /**
   * A row of this table: the first kept one, else the newest passed on and not kept. Formulas
   * learn their column types from it when a table is derived from one whose rows went to sinks.
   */
  sampleRow(): [RowId, Row] | undefined {
    const first = this.#rows.entries().next();
    return first.done === true ? this.#latest : first.value;
  }

  get position(): SourcePosition | undefined {
    return this.#position;
  }

  get size(): number {
    return this.#rows.size;
  }

  rows(): IterableIterator<[RowId, Row]> {
    return this.#rows.entries();
  }

  row(id: RowId): Row | undefined {
    return this.#rows.get(id);
  }

  protected get listenerCount(): number {
    return this.#listeners.size;
  }

  subscribe(listener: TableListener): Subscription {
    this.#listeners.add(listener);
    this.onListenersChanged();
    if (this.#ended) queueMicrotask(() => listener.onEnd?.());
    return {
      unsubscribe: () => {
        if (!this.#listeners.delete(listener)) return;
        this.onListenersChanged();
        if (listener.downstream === true && this.#listeners.size === 0 && !this.#ended) this.onLastConsumerLeft();
      },
    };
  }

  /**
   * Whether this table is a stream whose rows need not stay once listeners have them (see
   * `retainRows`). Streaming sources say so; a table computed from one is one too.
   */
  protected get streams(): boolean {
    return this.upstream.length > 0 && this.upstream.every((parent) => parent instanceof BaseTable && parent.streams);
  }

  /** Hook for sources that only need to run while someone listens (timers). */
  protected onListenersChanged(): void {}

  /**
   * The last table computed from this one has closed: by default this one closes too. A table the
   * program itself edits (an input table) overrides this and stays open.
   */
  protected onLastConsumerLeft(): void {
    // A close that fails (a Kafka follower that cannot leave cleanly) has no one left to tell.
    Promise.resolve(this.close()).catch(() => {});
  }

  abstract close(): void | Promise<void>;

  /**
   * Applies the changes to the current rows and passes them, with the source position they bring
   * the table to, to every listener. An empty batch with a new position tells listeners the
   * source moved on (`onPosition`).
   */
  protected emit(batch: ChangeBatch, position?: SourcePosition): void {
    if (batch.length === 0) {
      if (position === undefined || this.#ended) return;
      this.#position = position;
      for (const listener of [...this.#listeners]) listener.onPosition?.(position);
      return;
    }
    if (this.#ended) throw new SpillwayError(ErrorCode.InvalidState, 'this table has ended and cannot change');
    if (position !== undefined) this.#position = position;
    // Rows only ever inserted need not be kept for listeners that get them now (see retainRows).
    const keep = !this.appendOnly || this.#listeners.size === 0 || this.#retainers > 0 || !this.streams;
    if (keep) {
      for (const change of batch) {
        if (change.kind === 'delete') this.#rows.delete(change.id);
        else this.#rows.set(change.id, change.row);
      }
    } else {
      const last = batch[batch.length - 1] as Change;
      this.#latest = [last.id, last.row];
    }
    for (const listener of [...this.#listeners]) listener.onChanges(batch, position);
  }

  /** Marks the table as finished; listeners hear `onEnd` once. */
  protected end(): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const listener of [...this.#listeners]) listener.onEnd?.();
  }
}
