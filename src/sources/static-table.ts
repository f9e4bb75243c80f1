import { type Schema, normalizeRow } from '../model/schema.ts';
import { LiveTable } from '../model/live-table.ts';

/** A table whose rows are given once and never change (Deephaven's `new_table`). */
export class StaticTable extends LiveTable {
  readonly appendOnly = true;

  constructor(schema: Schema, rows: Iterable<Readonly<Record<string, unknown>>>) {
    super(schema);
    const changes = [];
    let index = 0;
    for (const input of rows) {
      changes.push({ kind: 'insert' as const, id: index, row: normalizeRow(schema, input, `row ${index}`) });
      index++;
    }
    this.emit(changes);
    this.end();
  }

  /** A static table has ended from the start and holds nothing. */
  close(): void {}
}

export function newTable(schema: Schema, rows: Iterable<Readonly<Record<string, unknown>>>): StaticTable {
  return new StaticTable(schema, rows);
}

