/**
 * Tables fed from outside the program: an async iterable (this file) or a file followed as it
 * grows (file-table.ts). Both share `FeedTable`: append rows, or with key columns upsert and delete
 * them by key; on a bad row, record the failure and end.
 *
 * How a failure surfaces: the table ends (so sinks on it finish with what they have written) and
 * keeps the error in `failure`; `whenEnded()` resolves when the table ends cleanly and rejects with
 * the failure otherwise. Nothing is thrown where nobody listens.
 */
import { z } from 'zod';
import { ErrorCode, SpillwayError, asSpillwayError, zodIssuesError } from '../errors.ts';
import { LiveTable } from '../model/live-table.ts';
import { type ItemPosition, PositionKind } from '../model/position.ts';
import { type Row, type Schema, keyOf, normalizeRow, requireColumns } from '../model/schema.ts';
import type { Change, RowId } from '../model/table.ts';
import type { Source } from './source.ts';

/** A row as the source gives it: column name → value, before normalization. */
export type FeedRow = Readonly<Record<string, unknown>>;

/**
 * A change envelope. `insert` and `upsert` add the row (replacing the row with the same key when
 * the table has key columns); `delete` removes the row with the key given in `row` (only the key
 * columns are read; an unknown key is ignored) and needs key columns. An item is read as an
 * envelope when it has exactly the fields `op` and `row`, `op` is one of these, and the schema has
 * no column named `row`.
 */
export interface FeedChange {
  readonly op: 'insert' | 'upsert' | 'delete';
  readonly row: FeedRow;
}

/** One item yielded by the iterable: a row, a change envelope, or an array of them (one batch). */
export type FeedItem = FeedRow | FeedChange | readonly (FeedRow | FeedChange)[];

/** One entry to apply, with its position for error messages ("item 3", "line 7 of x.csv"). */
export interface FeedEntry {
  readonly input: FeedRow | FeedChange;
  readonly where: string;
}

const changeOps: ReadonlySet<unknown> = new Set(['insert', 'upsert', 'delete']);

function asEnvelope(schema: Schema, input: FeedRow | FeedChange): FeedChange | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  // The cheap tests first: most items are rows, and Object.keys allocates.
  if (!('op' in input) || !('row' in input) || !changeOps.has(input.op) || Object.keys(input).length !== 2) return undefined;
  if (schema.columns.some((column) => column.name === 'row')) return undefined;
  return input as FeedChange;
}

export const feedOptionsSchema = z
  .object({
    /**
     * Key columns: items upsert and delete by them, and they become the table's primary key.
     * Default: the schema's primary key; without either, rows are appended.
     */
    key: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict();

export type FeedOptions = z.input<typeof feedOptionsSchema>;

/** Validates options with a zod schema and reports every problem with the source that was given them. */
export function parseSourceOptions<T extends z.ZodType>(schema: T, input: unknown, source: string): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw zodIssuesError(result.error.issues, { subject: source, root: 'options' });
}

/**
 * A table fed by entries from outside: appended, or upserted and deleted by key. Subclasses read
 * their source and call `apply`, then `finish` or `fail`.
 */
export abstract class FeedTable extends LiveTable {
  readonly appendOnly: boolean;
  /** The key columns items upsert and delete by, or undefined when rows are appended. */
  readonly key: readonly string[] | undefined;
  /** The key columns as a schema of their own (a delete gives only them). */
  readonly #keySchema: Schema | undefined;
  readonly #source: string;
  #failure: SpillwayError | undefined;
  #nextId = 0;
  readonly #waiters: { resolve: () => void; reject: (error: SpillwayError) => void }[] = [];
  /** Sources waiting for room; answered when there is room, or when the table ends. */
  readonly #roomWaiters = new Set<() => void>();

  /** `firstId`: the id of the first appended row (a resumed source continues its first run's ids). */
  protected constructor(schema: Schema, key: readonly string[] | undefined, source: string, firstId = 0) {
    const keyColumns = key ?? schema.primaryKey;
    const columns = keyColumns === undefined ? undefined : requireColumns(schema, keyColumns, `${source} key`);
    super(keyColumns === undefined ? schema : { ...schema, primaryKey: [...keyColumns] });
    this.key = keyColumns;
    // One schema for every delete's key, so its normalizer is compiled once, not per delete.
    this.#keySchema = columns === undefined ? undefined : { columns };
    this.appendOnly = keyColumns === undefined;
    this.#source = source;
    this.#nextId = firstId;
  }

  /** Rows appended so far, counting those of the run this one resumes: the next appended row's id. */
  protected get appendedRows(): number {
    return this.#nextId;
  }

  /** Why the source stopped, when it did not end cleanly. */
  get failure(): SpillwayError | undefined {
    return this.#failure;
  }

  /** Resolves when the table ends cleanly (source exhausted or closed); rejects with the failure. */
  whenEnded(): Promise<void> {
    if (this.ended) return this.#failure === undefined ? Promise.resolve() : Promise.reject(this.#failure);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /**
   * Backpressure: resolves when every sink downstream can take more, or once the table has ended
   * (closed while waiting). Sources call it before they pull more from outside.
   */
  protected async waitForRoom(): Promise<void> {
    // Nothing to wait for most of the time. (A race against one long-lived end promise would add
    // a reaction to it on every call, which it keeps until the table ends: memory per row.)
    if (this.writable || this.ended) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.#roomWaiters.delete(done);
        resolve();
      };
      this.#roomWaiters.add(done);
      void this.whenWritable().then(done);
    });
  }

  /**
   * Turns entries into one change batch and emits it. A bad entry throws an error that names its
   * position; with `partial`, the entries before it are emitted first, otherwise none are.
   */
  protected apply(entries: readonly FeedEntry[], options: { readonly partial?: boolean } = {}): void {
    this.applyInputs(
      entries.map((entry) => entry.input),
      (index) => (entries[index] as FeedEntry).where,
      options,
    );
  }

  /**
   * `apply` for inputs whose positions are given by `whereOf(index)`, which is called only to
   * word an error: a batch of a thousand good rows builds no label.
   */
  protected applyInputs(inputs: readonly (FeedRow | FeedChange)[], whereOf: (index: number) => string, options: { readonly partial?: boolean } = {}): void {
    const changes: Change[] = [];
    const rowWhere = (index: number) => `${this.#source}: ${whereOf(index)}`;
    /** Rows already changed in this batch: row id → its latest row, or null once deleted. */
    const pending = new Map<RowId, Row | null>();
    const current = (id: RowId): Row | undefined => {
      const seen = pending.get(id);
      return seen === null ? undefined : (seen ?? this.row(id));
    };
    try {
      for (let index = 0; index < inputs.length; index++) {
        const input = inputs[index] as FeedRow | FeedChange;
        const envelope = asEnvelope(this.schema, input);
        const op = envelope?.op ?? 'insert';
        const fields: unknown = envelope === undefined ? input : envelope.row;
        if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
          throw new SpillwayError(ErrorCode.InvalidValue, `${rowWhere(index)} is ${describeItem(fields)}, not a row; give an object of column values`);
        }
        if (this.key === undefined) {
          if (op === 'delete') {
            throw new SpillwayError(
              ErrorCode.InvalidState,
              `${rowWhere(index)} deletes a row, but the table has no key columns to find it by; give the option key: ['column', …]`,
            );
          }
          changes.push({ kind: 'insert', id: this.#nextId, row: normalizeRow(this.schema, fields as FeedRow, rowWhere, index) });
          this.#nextId++;
          continue;
        }
        if (op === 'delete') {
          const keySchema = this.#keySchema as Schema;
          const keyRow = normalizeRow(
            keySchema,
            Object.fromEntries(keySchema.columns.map((column) => [column.name, (fields as FeedRow)[column.name]])),
            () => `${rowWhere(index)}: the key of a delete`,
          );
          const id = keyOf(keyRow, this.key);
          const before = current(id);
          if (before === undefined) continue;
          changes.push({ kind: 'delete', id, row: before });
          pending.set(id, null);
          continue;
        }
        const row = normalizeRow(this.schema, fields as FeedRow, rowWhere, index);
        const id = keyOf(row, this.key);
        const before = current(id);
        changes.push(before === undefined ? { kind: 'insert', id, row } : { kind: 'update', id, before, row });
        pending.set(id, row);
      }
    } catch (error) {
      if (options.partial === true) this.emit(changes, this.position);
      throw error;
    }
    // The position is the source's once these entries are read (subclasses report it).
    this.emit(changes, this.position);
  }

  /** Ends the table cleanly. */
  protected finish(): void {
    if (this.ended) return;
    this.end();
    for (const done of [...this.#roomWaiters]) done();
    for (const waiter of this.#waiters.splice(0)) waiter.resolve();
  }

  /** Records the failure and ends the table. */
  protected fail(error: unknown): void {
    if (this.ended) return;
    this.#failure = asSpillwayError(error);
    this.end();
    for (const done of [...this.#roomWaiters]) done();
    for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#failure);
  }
}

function describeItem(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 40))}`;
  return `a ${typeof value}`;
}

/**
 * A table fed by an async (or sync) iterable: each yielded row is appended, or upserted by key;
 * a yielded array is one batch, applied whole or not at all. It ends when the iterable is done;
 * a bad row or a throwing iterable fails it (see `failure`, `whenEnded`). The next item is pulled
 * only when every sink downstream has room (backpressure).
 */
export class IterableTable extends FeedTable implements Source {
  readonly capabilities = {
    replayable: false,
    positionKind: PositionKind.Item,
    reason: 'an iterator cannot be rewound, so its items cannot be read again',
  } as const;
  readonly description = 'async iterable';
  readonly #iterator: AsyncIterator<FeedItem> | Iterator<FeedItem>;
  #closed = false;
  #position = 0;

  constructor(schema: Schema, iterable: AsyncIterable<FeedItem> | Iterable<FeedItem>, options: FeedOptions = {}) {
    const parsed = parseSourceOptions(feedOptionsSchema, options, 'fromAsyncIterable');
    super(schema, parsed.key, 'fromAsyncIterable');
    const candidate = iterable as Partial<AsyncIterable<FeedItem> & Iterable<FeedItem>> | null;
    if (typeof candidate?.[Symbol.asyncIterator] !== 'function' && typeof candidate?.[Symbol.iterator] !== 'function') {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        'fromAsyncIterable: the second argument is not iterable; give an async generator, a stream, an array or any (async) iterable of rows',
      );
    }
    this.#iterator =
      Symbol.asyncIterator in iterable ? iterable[Symbol.asyncIterator]() : iterable[Symbol.iterator]();
    void this.#read();
  }

  async #read(): Promise<void> {
    for (;;) {
      await this.waitForRoom();
      if (this.#closed) return;
      let result: IteratorResult<FeedItem>;
      try {
        result = await this.#iterator.next();
      } catch (error) {
        if (this.#closed) return;
        const cause = asSpillwayError(error);
        this.fail(new SpillwayError(cause.code, `fromAsyncIterable: the iterable threw after ${this.#position} item(s): ${cause.message}`, { cause: error }));
        return;
      }
      if (this.#closed) return;
      if (result.done === true) {
        this.finish();
        return;
      }
      const item = result.value;
      const where = `item ${this.#position}`;
      this.#position++;
      try {
        if (Array.isArray(item)) this.applyInputs(item as readonly (FeedRow | FeedChange)[], (index) => `${where}, row ${index}`);
        else this.applyInputs([item as FeedRow | FeedChange], () => where);
      } catch (error) {
        this.fail(error);
        this.#stopIterator();
        return;
      }
    }
  }

  /** Rows go to the listeners and are not kept (see Table.retainRows). */
  protected override get streams(): boolean {
    return true;
  }

  /** Items taken from the iterable so far. */
  override get position(): ItemPosition {
    return { kind: PositionKind.Item, index: this.#position };
  }

  /** Tells the iterator to stop (runs a generator's `finally`); its answer is not waited for. */
  #stopIterator(): void {
    const iterator = this.#iterator;
    if (iterator.return === undefined) return;
    Promise.resolve()
      .then(() => iterator.return?.())
      .catch(() => {
        // The iterator failed while stopping; the table has already ended, so there is no one to tell.
      });
  }

  /** Stops reading: the iterator is told to return and the table ends cleanly. */
  close(): void {
    if (this.#closed || this.ended) return;
    this.#closed = true;
    this.#stopIterator();
    this.finish();
  }
}

/**
 * A live table fed by an async iterable (or a sync one). Items are rows, arrays of rows (one batch
 * each), or change envelopes `{ op: 'insert' | 'upsert' | 'delete', row }`; with key columns
 * (`options.key`, or the schema's primary key) rows are upserted and deleted by key.
 * @example fromAsyncIterable(schema, readings(), { key: ['sensor'] })
 */
export function fromAsyncIterable(
  schema: Schema,
  iterable: AsyncIterable<FeedItem> | Iterable<FeedItem>,
  options: FeedOptions = {},
): IterableTable {
  return new IterableTable(schema, iterable, options);
}
