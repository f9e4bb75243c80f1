/**
 * Update modes: what each change of the table becomes on the topic. Each mode is one
 * implementation of `UpdateMode`; the sink feeds it the changes of a trigger (`accept`) and writes
 * what it gives back (`drain`). Modes speak in record intents (a row, a tombstone, a change with
 * its kind), never bytes: encoding is the formats layer's job.
 *
 * | mode     | insert      | delete          | update                                      |
 * | append   | the row     | refused (or dropped when asked)                               |
 * | retract  | insert      | delete          | delete(old) then insert(new), or one update |
 * | upsert   | key → row   | key → tombstone | key → row; a changed key tombstones the old |
 * | complete | at each trigger, every current row (keys gone since the last one tombstoned) |
 * | update   | at each trigger, the last row of each key changed since; removed keys tombstoned |
 *
 * Incompatible combinations are refused when the sink is built, saying why and what to choose.
 */
import { ErrorCode, SpillwayError } from '../errors.ts';
import type { Encoder, RowChange } from '../formats/encoder.ts';
import type { Row } from '../model/schema.ts';
import type { Change, RowId, Table } from '../model/table.ts';

export const UpdateModeName = {
  Append: 'append',
  Retract: 'retract',
  Upsert: 'upsert',
  Complete: 'complete',
  Update: 'update',
} as const;
export type UpdateModeName = (typeof UpdateModeName)[keyof typeof UpdateModeName];
export const updateModeNames = Object.values(UpdateModeName);

/**
 * A row's key as its encoder wrote it: bytes, or the text whose UTF-8 bytes it is (an encoder
 * with `encodeText`, whose texts the record builder writes as bytes a batch at once), or null.
 */
export type EncodedKey = Buffer | string | null;

/**
 * One record to write, before encoding. `id` is the table row it came from (for error messages).
 * `key`, when present, is the row's key as the key encoder wrote it already (a keyed mode needs
 * it to compare keys), so the record builder does not encode it twice.
 */
export type RecordIntent =
  /** Key and value from the row. */
  | { readonly type: 'row'; readonly id: RowId; readonly row: Row; readonly key?: EncodedKey }
  /** Key from the row, null value. */
  | { readonly type: 'tombstone'; readonly id: RowId; readonly row: Row; readonly key?: EncodedKey }
  /** Key from the row; the value says which change it is (an envelope, or a change-kind header). */
  | { readonly type: 'change'; readonly id: RowId; readonly change: RowChange };

export interface UpdateMode {
  readonly name: UpdateModeName;
  /** Takes one change of the table, in order. */
  accept(change: Change): void;
  /** The records for everything accepted since the last drain (one trigger's worth), in order. */
  drain(): RecordIntent[];
  /** Changes the mode dropped by request (append with `dropRetractions`). */
  readonly dropped: number;
}

/** What a mode is built against; validation needs all of it. */
export interface UpdateModeContext {
  readonly sink: string;
  readonly table: Table;
  readonly keyEncoder: Encoder;
  readonly valueEncoder: Encoder;
  /** The trigger kind: complete mode needs micro-batches. */
  readonly trigger: 'continuous' | 'interval' | 'once';
  /** Append mode: drop updates and deletes instead of refusing the table. */
  readonly dropRetractions: boolean;
}

function refuse(context: UpdateModeContext, mode: UpdateModeName, why: string): never {
  throw new SpillwayError(ErrorCode.IncompatibleMode, `sink "${context.sink}": update mode "${mode}" ${why}`);
}

/**
 * Upsert and update need one key to name one row. A key spec over the table's primary key (or any
 * key of a table that only grows, where a later row for a key replaces the earlier) is unique by
 * construction; for any other key, the mode checks uniqueness as rows arrive and fails the sink on
 * the first two rows that share a key, rather than let compaction lose one of them.
 */
function keyNeedsChecking(context: UpdateModeContext, mode: UpdateModeName): boolean {
  if (context.keyEncoder.capabilities.ignored) {
    refuse(context, mode, 'needs a record key, but the key spec is IGNORE; give a key spec over the table\'s primary key (for example simpleSpec or jsonSpec of its key columns)');
  }
  if (context.table.appendOnly) return false;
  const primaryKey = context.table.schema.primaryKey;
  return primaryKey === undefined || primaryKey.some((column) => !context.keyEncoder.capabilities.columns.includes(column));
}

/** A row as JSON for an error message (bigints as their digits, bytes as base64). */
function describeRow(row: Row): string {
  return JSON.stringify(row, (_key, value: unknown) =>
    typeof value === 'bigint' ? value.toString() : value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value,
  );
}

/** A row's key as text when its encoder writes text (no Buffer a row), else as bytes. */
function encodeKey(encoder: Encoder, row: Row): EncodedKey {
  return encoder.encodeText === undefined ? encoder.encode(row) : encoder.encodeText(row);
}

/**
 * An encoded key as a Map key, to compare keys. A sink's keys all take one form (its encoder's),
 * and each form's text is one to one with the key's bytes (a null key reads as an empty one).
 */
function keyIdentity(key: EncodedKey): string {
  return typeof key === 'string' ? key : (key?.toString('latin1') ?? '');
}

/** Inserts only. A changing table is refused unless its updates and deletes are to be dropped. */
class AppendMode implements UpdateMode {
  readonly name = UpdateModeName.Append;
  #pending: RecordIntent[] = [];
  #dropped = 0;

  constructor(context: UpdateModeContext) {
    if (!context.table.appendOnly && !context.dropRetractions) {
      refuse(
        context,
        this.name,
        'cannot express a removal or an update, and this table updates or deletes rows; choose "upsert" or "retract", ' +
          'or set dropRetractions: true to write inserts only',
      );
    }
  }

  get dropped(): number {
    return this.#dropped;
  }

  accept(change: Change): void {
    if (change.kind === 'insert') this.#pending.push({ type: 'row', id: change.id, row: change.row });
    else this.#dropped++;
  }

  drain(): RecordIntent[] {
    const drained = this.#pending;
    this.#pending = [];
    return drained;
  }
}

/** Every change, in order; the value format (or a header) says whether it is an insert or a delete. */
class RetractMode implements UpdateMode {
  readonly name = UpdateModeName.Retract;
  readonly dropped = 0;
  readonly #nativeUpdates: boolean;
  #pending: RecordIntent[] = [];

  constructor(context: UpdateModeContext) {
    if (context.valueEncoder.capabilities.ignored) {
      refuse(context, this.name, 'writes inserts and deletes as values, but the value spec is IGNORE; give a value spec (jsonSpec with updateFormat "insert_delete" or "debezium" says the change in the value itself)');
    }
    this.#nativeUpdates = context.valueEncoder.capabilities.envelope === 'insert-update-delete';
  }

  accept(change: Change): void {
    switch (change.kind) {
      case 'insert':
        this.#pending.push({ type: 'change', id: change.id, change: { op: 'insert', row: change.row } });
        return;
      case 'delete':
        this.#pending.push({ type: 'change', id: change.id, change: { op: 'delete', row: change.row } });
        return;
      case 'update':
        if (this.#nativeUpdates) {
          this.#pending.push({ type: 'change', id: change.id, change: { op: 'update', row: change.row, before: change.before } });
        } else {
          this.#pending.push({ type: 'change', id: change.id, change: { op: 'delete', row: change.before } });
          this.#pending.push({ type: 'change', id: change.id, change: { op: 'insert', row: change.row } });
        }
    }
  }

  drain(): RecordIntent[] {
    const drained = this.#pending;
    this.#pending = [];
    return drained;
  }
}

/**
 * Keyed writes: a row per insert or update, a tombstone per delete, and a tombstone for the old
 * key when an update changes the key. When `coalesce` is on (Spark's update mode, or any
 * micro-batch trigger), only the last state of each key within a trigger is written.
 */
class KeyedMode implements UpdateMode {
  readonly name: UpdateModeName;
  readonly dropped = 0;
  readonly #keyEncoder: Encoder;
  readonly #coalesce: boolean;
  readonly #sink: string;
  /** When the key is not unique by construction: which row holds each key. */
  readonly #rowOfKey: Map<string, RowId> | undefined;
  #pending: RecordIntent[] = [];
  /** Coalescing: the last intent per encoded key, in first-seen order. */
  #latest = new Map<string, RecordIntent>();

  constructor(context: UpdateModeContext, name: UpdateModeName, coalesce: boolean) {
    this.name = name;
    this.#rowOfKey = keyNeedsChecking(context, name) ? new Map() : undefined;
    this.#keyEncoder = context.keyEncoder;
    this.#coalesce = coalesce;
    this.#sink = context.sink;
  }

  /** Records that row `id` now holds `key` (or, with `undefined`, that it let go of `key`). */
  #claim(key: string, id: RowId | undefined, row: Row): void {
    const rowOfKey = this.#rowOfKey;
    if (rowOfKey === undefined) return;
    if (id === undefined) {
      rowOfKey.delete(key);
      return;
    }
    const holder = rowOfKey.get(key);
    if (holder !== undefined && holder !== id) {
      throw new SpillwayError(
        ErrorCode.IncompatibleMode,
        `sink "${this.#sink}": the row ${describeRow(row)} has the key ${JSON.stringify(this.#keyEncoder.encode(row)?.toString('utf8'))}, which another row already has; ` +
          `in ${this.name} mode a key must name one row, or compaction would lose one of them. ` +
          "Choose key columns that cover the table's primary key, or use lastByKeyColumns to keep the last row per key",
      );
    }
    rowOfKey.set(key, id);
  }

  #push(intent: RecordIntent & { readonly key: EncodedKey }): void {
    if (this.#coalesce) this.#latest.set(keyIdentity(intent.key), intent);
    else this.#pending.push(intent);
  }

  accept(change: Change): void {
    // Each key is encoded once here; the intent carries it on to the record builder.
    switch (change.kind) {
      case 'insert': {
        const key = encodeKey(this.#keyEncoder, change.row);
        if (this.#rowOfKey !== undefined) this.#claim(keyIdentity(key), change.id, change.row);
        this.#push({ type: 'row', id: change.id, row: change.row, key });
        return;
      }
      case 'delete': {
        const key = encodeKey(this.#keyEncoder, change.row);
        if (this.#rowOfKey !== undefined) this.#claim(keyIdentity(key), undefined, change.row);
        this.#push({ type: 'tombstone', id: change.id, row: change.row, key });
        return;
      }
      case 'update': {
        const oldKey = encodeKey(this.#keyEncoder, change.before);
        const newKey = encodeKey(this.#keyEncoder, change.row);
        // Compared as the Map keys are (a null key reads as an empty one).
        if (keyIdentity(oldKey) !== keyIdentity(newKey)) {
          if (this.#rowOfKey !== undefined) this.#claim(keyIdentity(oldKey), undefined, change.before);
          this.#push({ type: 'tombstone', id: change.id, row: change.before, key: oldKey });
        }
        if (this.#rowOfKey !== undefined) this.#claim(keyIdentity(newKey), change.id, change.row);
        this.#push({ type: 'row', id: change.id, row: change.row, key: newKey });
      }
    }
  }

  drain(): RecordIntent[] {
    if (this.#coalesce) {
      const drained = [...this.#latest.values()];
      this.#latest = new Map();
      return drained;
    }
    const drained = this.#pending;
    this.#pending = [];
    return drained;
  }
}

/**
 * At each trigger, the whole table as it is then (when anything changed since the last trigger).
 * With a record key, the keys of rows gone since the last trigger are tombstoned, so a compacted
 * topic equals the table too, and a table that empties says so.
 */
class CompleteMode implements UpdateMode {
  readonly name = UpdateModeName.Complete;
  readonly dropped = 0;
  readonly #table: Table;
  readonly #keyEncoder: Encoder;
  /** The rows written at the last trigger, by encoded key (only with a key). */
  #written = new Map<string, RecordIntent>();
  #changed = true;

  constructor(context: UpdateModeContext) {
    if (context.trigger === 'continuous') {
      refuse(context, this.name, 'writes the whole table at each trigger, so it needs micro-batches; set a trigger such as { processingTime: "5 seconds" } or { once: true }');
    }
    this.#table = context.table;
    this.#keyEncoder = context.keyEncoder;
    // Every row is written again at each trigger, so an append-only table must keep them.
    context.table.retainRows();
  }

  accept(): void {
    this.#changed = true;
  }

  drain(): RecordIntent[] {
    if (!this.#changed) return [];
    this.#changed = false;
    const intents: RecordIntent[] = [];
    const keyed = !this.#keyEncoder.capabilities.ignored;
    const written = new Map<string, RecordIntent>();
    for (const [id, row] of this.#table.rows()) {
      if (!keyed) {
        intents.push({ type: 'row', id, row });
        continue;
      }
      // The key goes on with the intent, so the record builder does not encode it again.
      const key = encodeKey(this.#keyEncoder, row);
      const intent: RecordIntent = { type: 'row', id, row, key };
      intents.push(intent);
      written.set(keyIdentity(key), intent);
    }
    for (const [key, gone] of this.#written) {
      if (!written.has(key) && gone.type === 'row') intents.push({ type: 'tombstone', id: gone.id, row: gone.row });
    }
    this.#written = written;
    return intents;
  }
}

/** Builds the mode, refusing a combination it cannot write correctly. */
export function createUpdateMode(name: UpdateModeName, context: UpdateModeContext): UpdateMode {
  switch (name) {
    case 'append':
      return new AppendMode(context);
    case 'retract':
      return new RetractMode(context);
    case 'upsert':
      return new KeyedMode(context, name, context.trigger !== 'continuous');
    case 'update':
      return new KeyedMode(context, name, true);
    case 'complete':
      return new CompleteMode(context);
  }
}

/** The mode a sink uses when none is chosen: append for tables that only grow, upsert otherwise. */
export function defaultUpdateMode(table: Table): UpdateModeName {
  return table.appendOnly ? UpdateModeName.Append : UpdateModeName.Upsert;
}
