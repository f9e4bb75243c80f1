import { z } from 'zod';
import { ErrorCode, SpillwayError, zodIssuesError } from '../errors.ts';
import { LiveTable } from '../model/live-table.ts';
import { type InputLogPosition, PositionKind } from '../model/position.ts';
import { type Row, type Schema, keyOf, normalizeRow, requireColumns } from '../model/schema.ts';
import type { Change } from '../model/table.ts';
import type { Source, SourceCapabilities } from './source.ts';

/**
 * A table the program edits. With a primary key, `add` inserts or replaces rows by key and
 * `delete` removes keys; without one, `add` appends and rows cannot be removed.
 *
 * Its position counts the program's edits (each `add` or `delete` call is one). It keeps no log
 * of them, so it cannot be replayed: after a restart only the program can give its rows again.
 * A program that does keep its edits and makes them again, in order, after a restart (the REST
 * service's ingress journal) says so with `replayedBy`: the same edits reach the same positions,
 * so a sink resuming after a committed position skips exactly what it wrote.
 */
export class InputTable extends LiveTable implements Source {
  readonly appendOnly: boolean;
  readonly capabilities: SourceCapabilities;
  readonly description: string;
  readonly #key: readonly string[] | undefined;
  #nextId = 0;
  #edits = 0;
  readonly #streams: boolean;

  /**
   * `streams`: appended rows are not kept once the table's listeners have them (a keyed table
   * keeps its rows regardless, to replace and delete them), for a program whose every consumer
   * subscribes before its first edit and that never asks the table for its rows.
   */
  constructor(schema: Schema, options: InputTableOptions = {}) {
    const checked = inputTableOptionsSchema.safeParse(options);
    if (!checked.success) throw zodIssuesError(checked.error.issues, { subject: 'inputTable()', root: 'options', fieldPrefix: 'option ', layout: 'inline' });
    super(schema);
    this.#streams = options.streams === true;
    this.capabilities =
      options.replayedBy === undefined
        ? { replayable: false, positionKind: PositionKind.InputLog, reason: options.notReplayed ?? 'the program edits it and it keeps no log of the edits' }
        : { replayable: true, positionKind: PositionKind.InputLog };
    this.description = options.replayedBy === undefined ? 'input table' : `input table (${options.replayedBy})`;
    this.#key = schema.primaryKey;
    this.appendOnly = this.#key === undefined;
  }

  /** Inserts rows, replacing any row with the same key; the rows form one change batch. */
  add(rows: readonly Readonly<Record<string, unknown>>[] | Readonly<Record<string, unknown>>): void {
    const list = Array.isArray(rows) ? (rows as readonly Readonly<Record<string, unknown>>[]) : [rows as Readonly<Record<string, unknown>>];
    // Validate the whole batch before applying any of it, so a bad row loses nothing accepted.
    const normalized = list.map((input, index) => normalizeRow(this.schema, input, `add(): row ${index}`));
    const changes: Change[] = [];
    const pending = new Map<string, Row>();
    for (const row of normalized) {
      if (this.#key === undefined) {
        changes.push({ kind: 'insert', id: this.#nextId++, row });
        continue;
      }
      const id = keyOf(row, this.#key);
      const before = pending.get(id) ?? this.row(id);
      changes.push(before === undefined ? { kind: 'insert', id, row } : { kind: 'update', id, before, row });
      pending.set(id, row);
    }
    this.#edits++;
    this.emit(changes, this.position);
  }

  override get position(): InputLogPosition {
    return { kind: PositionKind.InputLog, sequence: this.#edits };
  }

  /** Removes the rows with these keys (objects holding the key columns); unknown keys are ignored. */
  delete(keys: readonly Readonly<Record<string, unknown>>[] | Readonly<Record<string, unknown>>): void {
    if (this.#key === undefined) {
      throw new SpillwayError(
        ErrorCode.InvalidState,
        'this input table has no primary key, so rows cannot be deleted; declare one: defineSchema(columns, { primaryKey: [...] })',
      );
    }
    const keyColumns = requireColumns(this.schema, this.#key, 'delete()');
    const list = Array.isArray(keys) ? (keys as readonly Readonly<Record<string, unknown>>[]) : [keys as Readonly<Record<string, unknown>>];
    const keySchema: Schema = { columns: keyColumns };
    const ids = list.map((input, index) => {
      const keyOnly = Object.fromEntries(keyColumns.map((column) => [column.name, input[column.name]]));
      return keyOf(normalizeRow(keySchema, keyOnly, `delete(): key ${index}`), this.#key as readonly string[]);
    });
    const changes: Change[] = [];
    const removed = new Set<string>();
    for (const id of ids) {
      const before = this.row(id);
      if (before === undefined || removed.has(id)) continue;
      removed.add(id);
      changes.push({ kind: 'delete', id, row: before });
    }
    this.#edits++;
    this.emit(changes, this.position);
  }

  /** No more edits: sinks on this table finish once they have written everything. */
  close(): void {
    this.end();
  }

  protected override get streams(): boolean {
    return this.#streams;
  }

  /** The program edits this table, so it stays open until the program closes it, consumers or not. */
  protected override onLastConsumerLeft(): void {}
}

export interface InputTableOptions {
  /** Who keeps the edits and makes them again in order after a restart, in words. */
  readonly replayedBy?: string;
  /** Why not, when the default reason (no log of the edits) says too little. */
  readonly notReplayed?: string;
  readonly streams?: boolean;
}

/** The options checked at run time, for callers the types do not reach. */
const inputTableOptionsSchema = z
  .object({ replayedBy: z.string().min(1).optional(), notReplayed: z.string().min(1).optional(), streams: z.boolean().optional() })
  .strict()
  .refine((options) => options.replayedBy === undefined || options.notReplayed === undefined, {
    message: 'give replayedBy (the edits are made again after a restart) or notReplayed (why they are not), not both',
  });

export function inputTable(schema: Schema, options: InputTableOptions = {}): InputTable {
  return new InputTable(schema, options);
}
