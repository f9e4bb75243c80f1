/**
 * Source positions: where a source is in its input. Every change batch carries the position its
 * source reached once the batch was made, so a sink that has written (or committed) a batch can
 * say "everything up to position P". A position always names the next thing to read: resuming a
 * source from P yields exactly what came after the batches up to P, nothing twice, nothing lost.
 *
 * Positions are plain JSON (64-bit Kafka offsets and nanosecond timestamps as decimal strings),
 * so a progress record or a checkpoint file stores them as they are.
 */
import { z } from 'zod';
import { ErrorCode, SpillwayError } from '../errors.ts';

export const PositionKind = {
  /** A CSV or NDJSON file: the next byte and line to read. */
  File: 'file',
  /** A Kafka topic: the next offset to read in each partition read so far. */
  Kafka: 'kafka',
  /** A time table: the next row's sequence number and timestamp. */
  Time: 'time',
  /** An input table: how many edits (add / delete calls) the program has made. */
  InputLog: 'input-log',
  /** An async iterable: how many items were taken from it. */
  Item: 'item',
  /** A static table: how many of its rows were emitted. */
  Row: 'row',
} as const;
export type PositionKind = (typeof PositionKind)[keyof typeof PositionKind];

const count = z.number().int().min(0);
const decimal = z.string().regex(/^(0|[1-9]\d*)$/, 'a non-negative integer in decimal');

export const filePositionSchema = z
  .object({
    kind: z.literal(PositionKind.File),
    path: z.string().min(1),
    /** The first byte not yet turned into rows (a line still being written is not counted). */
    byteOffset: count,
    /** The line number (from 1) at that byte. */
    line: z.number().int().min(1),
    /** Rows appended so far: the next appended row's id. */
    rows: count,
  })
  .strict();

export const kafkaPositionSchema = z
  .object({
    kind: z.literal(PositionKind.Kafka),
    topic: z.string().min(1),
    /** Per partition read so far, the next offset to read (Kafka's committed-offset meaning), by partition. */
    offsets: z.array(z.object({ partition: count, offset: decimal }).strict()),
  })
  .strict();

export const timePositionSchema = z
  .object({
    kind: z.literal(PositionKind.Time),
    /** The next row's sequence number (its row id): rows 0 … sequence − 1 were emitted. */
    sequence: count,
    /** The next row's Timestamp, in nanoseconds since the epoch. */
    timestampNs: decimal,
  })
  .strict();

export const inputLogPositionSchema = z.object({ kind: z.literal(PositionKind.InputLog), sequence: count }).strict();
export const itemPositionSchema = z.object({ kind: z.literal(PositionKind.Item), index: count }).strict();
export const rowPositionSchema = z.object({ kind: z.literal(PositionKind.Row), index: count }).strict();

export const sourcePositionSchema = z.discriminatedUnion('kind', [
  filePositionSchema,
  kafkaPositionSchema,
  timePositionSchema,
  inputLogPositionSchema,
  itemPositionSchema,
  rowPositionSchema,
]);

export type FilePosition = z.output<typeof filePositionSchema>;
export type KafkaPosition = z.output<typeof kafkaPositionSchema>;
export type TimePosition = z.output<typeof timePositionSchema>;
export type InputLogPosition = z.output<typeof inputLogPositionSchema>;
export type ItemPosition = z.output<typeof itemPositionSchema>;
export type RowPosition = z.output<typeof rowPositionSchema>;
export type SourcePosition = z.output<typeof sourcePositionSchema>;

/** Checks a position read from outside (a progress record, a checkpoint file), naming what is wrong. */
export function parseSourcePosition(value: unknown, where: string): SourcePosition {
  const result = sourcePositionSchema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.length === 0 ? 'position' : issue.path.join('.')}: ${issue.message}`);
  throw new SpillwayError(ErrorCode.InvalidConfig, `${where}: not a source position (${problems.join('; ')}); positions come from a table's batches or its \`position\``);
}

/**
 * Whether everything up to `a` is also up to `b` (a ≤ b): both from one source, `a` not past `b`.
 * A Kafka position is at or before another when it is in every partition; a partition missing
 * from `a` is at its start. Positions of different kinds or sources are not comparable: undefined.
 */
export function positionAtOrBefore(a: SourcePosition, b: SourcePosition): boolean | undefined {
  switch (a.kind) {
    case PositionKind.File:
      return b.kind === a.kind && b.path === a.path ? a.byteOffset <= b.byteOffset : undefined;
    case PositionKind.Kafka: {
      if (b.kind !== a.kind || b.topic !== a.topic) return undefined;
      const later = new Map(b.offsets.map(({ partition, offset }) => [partition, BigInt(offset)]));
      return a.offsets.every(({ partition, offset }) => BigInt(offset) === 0n || BigInt(offset) <= (later.get(partition) ?? 0n));
    }
    case PositionKind.Time:
    case PositionKind.InputLog:
      return b.kind === a.kind ? a.sequence <= b.sequence : undefined;
    case PositionKind.Item:
    case PositionKind.Row:
      return b.kind === a.kind ? a.index <= b.index : undefined;
  }
}

/** A position in words, for errors and warnings. */
export function describePosition(position: SourcePosition): string {
  switch (position.kind) {
    case PositionKind.File:
      return `file "${position.path}" byte ${position.byteOffset} (line ${position.line})`;
    case PositionKind.Kafka:
      return `topic "${position.topic}" ${position.offsets.length === 0 ? 'from its start' : position.offsets.map((o) => `partition ${o.partition} offset ${o.offset}`).join(', ')}`;
    case PositionKind.Time:
      return `time table row ${position.sequence}`;
    case PositionKind.InputLog:
      return `input table edit ${position.sequence}`;
    case PositionKind.Item:
      return `iterable item ${position.index}`;
    case PositionKind.Row:
      return `static table row ${position.index}`;
  }
}
