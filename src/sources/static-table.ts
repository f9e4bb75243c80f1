import { LiveTable } from '../model/live-table.ts';
import { PositionKind, type RowPosition, type SourcePosition } from '../model/position.ts';
import { type Row, type Schema, normalizeRow } from '../model/schema.ts';
import type { Change, RowId } from '../model/table.ts';
import { type ResumableSource, checkResumePosition } from './source.ts';

/** Rows already checked against the schema, and where a resumed table starts in them. */
interface ResumedRows {
  readonly all: readonly Row[];
  readonly start: number;
}

/**
 * A table whose rows are given once and never change (Deephaven's `new_table`). Row i has id i;
 * its one batch has the position "row n" (n rows emitted), and `resumeFrom({ kind: 'row', index })`
 * is the table of the rows from that index on, with the same ids.
 */
export class StaticTable extends LiveTable implements ResumableSource {
  readonly appendOnly = true;
  readonly capabilities = { replayable: true, positionKind: PositionKind.Row } as const;
  readonly description = 'static table';
  readonly #all: readonly Row[];
  readonly #position: RowPosition;

  constructor(schema: Schema, rows: Iterable<Readonly<Record<string, unknown>>>, resumed?: ResumedRows) {
    super(schema);
    const all: Row[] = [];
    if (resumed === undefined) {
      let index = 0;
      for (const input of rows) all.push(normalizeRow(schema, input, `row ${index++}`));
    }
    this.#all = resumed?.all ?? all;
    const start = resumed?.start ?? 0;
    const changes: Change[] = [];
    for (let index = start; index < this.#all.length; index++) changes.push({ kind: 'insert', id: index, row: this.#all[index] as Row });
    this.#position = { kind: PositionKind.Row, index: this.#all.length };
    this.emit(changes, this.#position);
    this.end();
  }

  override get position(): RowPosition {
    return this.#position;
  }

  /** Row ids are indexes: row `id` was emitted by a position that counts more rows. */
  rowEmittedBy(id: RowId, position: SourcePosition): boolean | undefined {
    if (position.kind !== PositionKind.Row || typeof id !== 'number') return undefined;
    return id < position.index;
  }

  /** The rows from `position.index` on (none when it is at the end). */
  resumeFrom(position: SourcePosition): StaticTable {
    const { index } = checkResumePosition('newTable', PositionKind.Row, position);
    return new StaticTable(this.schema, [], { all: this.#all, start: Math.min(index, this.#all.length) });
  }

  /** A static table has ended from the start and holds nothing. */
  close(): void {}
}

export function newTable(schema: Schema, rows: Iterable<Readonly<Record<string, unknown>>>): StaticTable {
  return new StaticTable(schema, rows);
}
