/**
 * The progress record: what a sink shard has committed. Under exactly-once it is written in the
 * same Kafka transaction as the epoch's records, to a compacted progress topic keyed by sink name
 * and shard (Materialize's way), so the records and "everything up to position P" become visible
 * together or not at all; the checkpoint location mirrors it on disk.
 *
 * Recovery reads it in the order that avoids the known race (Materialize's and Flink's): first
 * fence (initialise the shard's stable transactional id, which aborts a zombie's open
 * transaction), then read the last committed progress, then resume the source right after it.
 *
 * Encoding (version 1), stable so records outlive the code that wrote them:
 * - key: UTF-8 `spillway-sink:<sink name, URI-encoded>:<shard>` — one key per shard, so compaction
 *   keeps each shard's last record;
 * - value: UTF-8 JSON with the fields in this order:
 *   `{"version":1,"sink":…,"shard":…,"topic":…,"epoch":…,"position":{…}}` (`topic` may be absent), the position as
 *   src/model/position.ts defines it (64-bit numbers as decimal strings).
 */
import { z } from 'zod';
import type { LoggedRecord } from '../kafka/record-writer.ts';
import { ErrorCode, SpillwayError } from '../errors.ts';
import { type SourcePosition, describePosition, sourcePositionSchema } from '../model/position.ts';

export const PROGRESS_VERSION = 1;

export interface ProgressRecord {
  /** The sink's name: user-given, unique per sink (never just the topic). */
  readonly sink: string;
  /** Which shard of the sink (0 for a sink that runs as one process). */
  readonly shard: number;
  /** The topic the sink writes (or its topic column's description): a restart writing another is refused. */
  readonly topic?: string | undefined;
  /** The last committed epoch; epochs only grow. */
  readonly epoch: number;
  /** Everything up to here is in the topic; a restart resumes the source from it. */
  readonly position: SourcePosition;
}

const sinkName = z
  .string()
  .min(1, 'a sink name cannot be empty')
  .max(200, 'a sink name has at most 200 characters')
  // eslint-disable-next-line no-control-regex
  .refine((name) => !/[\u0000-\u001f\u007f]/.test(name), 'a sink name cannot hold control characters');
const shardNumber = z.number().int().min(0).max(65_535);

const progressRecordSchema = z
  .object({
    version: z.literal(PROGRESS_VERSION),
    sink: sinkName,
    shard: shardNumber,
    topic: z.string().min(1).optional(),
    epoch: z.number().int().min(0),
    position: sourcePositionSchema,
  })
  .strict();

function problemsOf(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.length === 0 ? 'record' : issue.path.join('.')}: ${issue.message}`).join('; ');
}

/** Checks a sink name and shard, naming what is wrong. */
export function checkSinkShard(sink: string, shard: number): void {
  const name = sinkName.safeParse(sink);
  if (!name.success) throw new SpillwayError(ErrorCode.InvalidConfig, `sink name ${JSON.stringify(sink)}: ${name.error.issues.map((i) => i.message).join('; ')}`);
  const number = shardNumber.safeParse(shard);
  if (!number.success) throw new SpillwayError(ErrorCode.InvalidConfig, `sink "${sink}": shard ${String(shard)} is not a shard number; give an integer from 0 to 65535`);
}

/** The progress topic's key for a shard of a sink. */
export function progressKey(sink: string, shard: number): Buffer {
  checkSinkShard(sink, shard);
  return Buffer.from(`spillway-sink:${encodeURIComponent(sink)}:${shard}`, 'utf8');
}

/** The progress record's value bytes (see the encoding above). */
export function encodeProgress(record: ProgressRecord): Buffer {
  const checked = progressRecordSchema.safeParse({ version: PROGRESS_VERSION, ...record });
  if (!checked.success) throw new SpillwayError(ErrorCode.InvalidValue, `sink "${record.sink}": cannot encode its progress record (${problemsOf(checked.error)})`);
  const { sink, shard, topic, epoch, position } = checked.data;
  return Buffer.from(JSON.stringify({ version: PROGRESS_VERSION, sink, shard, ...(topic === undefined ? {} : { topic }), epoch, position }), 'utf8');
}

/** Reads a progress record's value bytes; `where` names the record in an error (topic, partition, offset, or a file). */
export function decodeProgress(value: Uint8Array, where: string): ProgressRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value).toString('utf8'));
  } catch (error) {
    throw new SpillwayError(ErrorCode.InvalidState, `${where}: not a progress record (not JSON: ${error instanceof Error ? error.message : String(error)})`);
  }
  const version = (parsed as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && version !== PROGRESS_VERSION) {
    throw new SpillwayError(ErrorCode.InvalidState, `${where}: a progress record of version ${version}, which this Spillway cannot read (it reads version ${PROGRESS_VERSION}); run the Spillway that wrote it, or start the sink over under a new name`);
  }
  const checked = progressRecordSchema.safeParse(parsed);
  if (!checked.success) throw new SpillwayError(ErrorCode.InvalidState, `${where}: not a progress record (${problemsOf(checked.error)})`);
  const { sink, shard, topic, epoch, position } = checked.data;
  return { sink, shard, ...(topic === undefined ? {} : { topic }), epoch, position };
}

/** One record as read from the progress topic. */
export type ProgressTopicRecord = LoggedRecord;

/**
 * The last committed progress of one shard, from the progress topic's records in offset order
 * (read with read_committed, after fencing). Other keys (other sinks, other shards) are passed
 * over; a tombstone for the key forgets its progress (the sink was reset). An epoch that goes
 * back means two writers shared the key without fencing, and is refused.
 */
export function lastCommittedProgress(records: Iterable<ProgressTopicRecord>, sink: string, shard: number): ProgressRecord | undefined {
  const key = progressKey(sink, shard);
  let last: ProgressRecord | undefined;
  for (const record of records) {
    if (record.key === null || !key.equals(record.key)) continue;
    if (record.value === null) {
      last = undefined;
      continue;
    }
    const progress = decodeProgress(record.value, record.where);
    if (progress.sink !== sink || progress.shard !== shard) {
      throw new SpillwayError(ErrorCode.InvalidState, `${record.where}: keyed for sink "${sink}" shard ${shard} but holds the progress of sink "${progress.sink}" shard ${progress.shard}`);
    }
    if (last !== undefined && progress.epoch < last.epoch) {
      throw new SpillwayError(
        ErrorCode.InvalidState,
        `${record.where}: sink "${sink}" shard ${shard} went back from epoch ${last.epoch} (${describePosition(last.position)}) to epoch ${progress.epoch}; ` +
          `two writers used this sink name at once without fencing — give each running sink its own name`,
      );
    }
    last = progress;
  }
  return last;
}
