/**
 * The resumable-source contract. Every source is a table whose batches carry its position
 * (src/model/position.ts) and which says, in `capabilities`, whether it can be replayed. A
 * replayable source implements `resumeFrom(position)`: a new source, configured as this one,
 * that yields exactly what came after that position — the same rows, with the same row ids, in
 * the same batches' order. A sink that committed "everything up to P" restarts on
 * `source.resumeFrom(P)` and neither loses nor repeats a row.
 *
 * Sources that cannot be replayed (an input table the program edits and that keeps no log, an
 * async iterable that cannot be rewound) say so, with the reason, so a sink asked for more than
 * at-least-once can warn instead of silently promising what it cannot keep.
 */
import { ErrorCode, SpillwayError } from '../errors.ts';
import { type PositionKind, type SourcePosition, parseSourcePosition } from '../model/position.ts';
import type { RowId, Table } from '../model/table.ts';

export type SourceCapabilities =
  | { readonly replayable: true; readonly positionKind: PositionKind }
  | { readonly replayable: false; readonly positionKind: PositionKind; readonly reason: string };

/** A table read from outside, with a position and a word on whether it can be replayed. */
export interface Source extends Table {
  readonly capabilities: SourceCapabilities;
  /** What the source is, in words ("file \"orders.csv\"", "time table PT1S"), for warnings. */
  readonly description: string;
  /** Where the source is now: resuming from it yields exactly what comes next. */
  readonly position: SourcePosition;
  /**
   * Whether the row inserted with this id had been emitted when the source reported `position`
   * (undefined when the source cannot tell). A sink resuming after `position` uses it to skip
   * exactly the replayed rows it committed, even inside a batch that crosses the position.
   */
  rowEmittedBy?(id: RowId, position: SourcePosition): boolean | undefined;
}

/** A source that can be replayed from any position it reported. */
export interface ResumableSource extends Source {
  readonly capabilities: { readonly replayable: true; readonly positionKind: PositionKind };
  /**
   * A new source with this one's configuration that starts right after `position` (one this
   * source, or an earlier run of it, reported). A position of another kind or of another input
   * (another file, another topic) is refused.
   */
  resumeFrom(position: SourcePosition): ResumableSource;
}

export function isSource(table: Table): table is Source {
  return 'capabilities' in table && typeof (table as Partial<Source>).capabilities === 'object';
}

export function isResumable(table: Table): table is ResumableSource {
  return isSource(table) && table.capabilities.replayable && typeof (table as Partial<ResumableSource>).resumeFrom === 'function';
}

/** The sources a table is computed from, each once, in upstream order. */
export function sourcesOf(table: Table): Source[] {
  const found: Source[] = [];
  const visit = (current: Table): void => {
    if (isSource(current)) {
      if (!found.includes(current)) found.push(current);
      return;
    }
    current.upstream.forEach(visit);
  };
  visit(table);
  return found;
}

/**
 * What a sink can promise about replaying `table`: `replayable` when every source it comes from
 * can be resumed; otherwise a warning per source that cannot, saying why and what the guarantee
 * becomes. The sink shows the warnings; it never quietly downgrades.
 */
export function replayabilityOf(table: Table): { readonly replayable: boolean; readonly warnings: readonly string[] } {
  const warnings = sourcesOf(table).flatMap((source) =>
    source.capabilities.replayable
      ? []
      : [`${source.description} cannot be replayed (${source.capabilities.reason}): after a restart its rows are not read again, so delivery is at-least-once for what was written and rows accepted but not yet written are lost`],
  );
  return { replayable: warnings.length === 0, warnings };
}

/**
 * The position a resume was asked for, checked to be of the source's kind (sources call this
 * first in `resumeFrom`).
 */
export function checkResumePosition<K extends SourcePosition['kind']>(
  source: string,
  kind: K,
  position: unknown,
): Extract<SourcePosition, { kind: K }> {
  const parsed = parseSourcePosition(position, `${source}.resumeFrom()`);
  if (parsed.kind !== kind) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `${source}.resumeFrom(): a position of kind "${parsed.kind}" cannot resume a source whose positions are of kind "${kind}"; give a position this source reported (a batch's position, or its \`position\`)`,
    );
  }
  return parsed as Extract<SourcePosition, { kind: K }>;
}
