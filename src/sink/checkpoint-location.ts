/**
 * The checkpoint location (Spark's `checkpointLocation`): a directory that holds the sink's
 * identity and a mirror of its last committed progress, one file per shard, so a restart with
 * the same location resumes where the sink was, and a location that belongs to another query is
 * refused instead of resuming the wrong thing.
 *
 * Layout (version 1):
 * - `metadata.json` — `{"version":1,"id":…,"sink":…,"topic":…,"createdAt":…}`; `id` is made once
 *   when the location is created (Spark's query id) and never changes;
 * - `progress-<shard>.json` — the shard's last committed progress record, in the progress
 *   topic's value encoding (src/sink/progress.ts).
 *
 * Every file is written atomically: to a temporary file in the same directory, fsync'd, renamed
 * over the old one, and the directory fsync'd, so a crash leaves the old file or the new one,
 * never a torn one. Temporary files a crash left behind are ignored.
 *
 * Under exactly-once the progress topic is the truth (it commits with the records); this mirror
 * lets a restart check that it resumes the same query and see where it was without the broker.
 */
import { randomUUID } from 'node:crypto';
import { type FileHandle, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ErrorCode, SpillwayError } from '../errors.ts';
import { describePosition } from '../model/position.ts';
import { type ProgressRecord, checkSinkShard, decodeProgress, encodeProgress } from './progress.ts';

export const CHECKPOINT_VERSION = 1;

/** What makes a query the same query: the sink's name and the topic it writes. */
export interface SinkIdentity {
  readonly sink: string;
  readonly topic: string;
}

const metadataSchema = z
  .object({
    version: z.literal(CHECKPOINT_VERSION),
    id: z.string().min(1),
    sink: z.string().min(1),
    topic: z.string().min(1),
    createdAt: z.string().min(1),
  })
  .strict();

export type CheckpointMetadata = z.output<typeof metadataSchema>;

const METADATA_FILE = 'metadata.json';
const progressFile = (shard: number): string => `progress-${shard}.json`;

/** Writes `data` to `path` so that a crash leaves either the old content or the new, never part. */
export async function writeFileAtomically(path: string, data: Uint8Array, directory: string): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}-${randomUUID()}`;
  let handle: FileHandle | undefined;
  try {
    handle = await open(temporary, 'wx', 0o644);
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temporary, path);
  } catch (error) {
    await handle?.close().catch(() => {});
    await rm(temporary, { force: true }).catch(() => {});
    throw error;
  }
  // The rename is durable only once the directory is.
  const dir = await open(directory, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** The topic a sink's checkpoint location names it by: its topic, or its topic column when rows choose theirs. */
export function checkpointTopic(spec: { readonly topic?: string | undefined; readonly topicColumn?: string | undefined }): string {
  return spec.topic ?? `(topic column ${spec.topicColumn ?? ''})`;
}

function describe(identity: SinkIdentity): string {
  return `sink "${identity.sink}" writing topic "${identity.topic}"`;
}

export class CheckpointLocation {
  readonly directory: string;
  readonly metadata: CheckpointMetadata;

  private constructor(directory: string, metadata: CheckpointMetadata) {
    this.directory = directory;
    this.metadata = metadata;
  }

  /**
   * Opens the location for this sink: creates the directory and its metadata the first time;
   * afterwards refuses it unless it belongs to the same sink and topic.
   */
  static async open(directory: string, identity: SinkIdentity): Promise<CheckpointLocation> {
    checkSinkShard(identity.sink, 0);
    const absolute = resolve(directory);
    const where = `checkpoint location "${absolute}"`;
    try {
      const stats = await stat(absolute);
      if (!stats.isDirectory()) throw new SpillwayError(ErrorCode.InvalidConfig, `${where} is not a directory; give the path of a directory (it is created if missing)`);
    } catch (error) {
      if (error instanceof SpillwayError) throw error;
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw CheckpointLocation.#unusable(where, error);
      try {
        await mkdir(absolute, { recursive: true });
      } catch (cause) {
        throw CheckpointLocation.#unusable(where, cause);
      }
    }
    const metadataPath = join(absolute, METADATA_FILE);
    let text: string | undefined;
    try {
      text = await readFile(metadataPath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw CheckpointLocation.#unusable(where, error);
    }
    if (text === undefined) {
      const metadata: CheckpointMetadata = { version: CHECKPOINT_VERSION, id: randomUUID(), sink: identity.sink, topic: identity.topic, createdAt: new Date().toISOString() };
      try {
        await writeFileAtomically(metadataPath, Buffer.from(`${JSON.stringify(metadata)}\n`), absolute);
      } catch (error) {
        throw CheckpointLocation.#unusable(where, error);
      }
      return new CheckpointLocation(absolute, metadata);
    }
    const metadata = CheckpointLocation.#readMetadata(text, `${where}: ${METADATA_FILE}`);
    if (metadata.sink !== identity.sink || metadata.topic !== identity.topic) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `${where} belongs to another query: ${describe(metadata)} (id ${metadata.id}, created ${metadata.createdAt}), not ${describe(identity)}; ` +
          `give each query its own checkpoint location, or delete this one to start that query over`,
      );
    }
    return new CheckpointLocation(absolute, metadata);
  }

  static #unusable(where: string, error: unknown): SpillwayError {
    return new SpillwayError(ErrorCode.InvalidConfig, `${where} cannot be used (${error instanceof Error ? error.message : String(error)}); give a directory this process can create and write`, { cause: error });
  }

  static #readMetadata(text: string, where: string): CheckpointMetadata {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new SpillwayError(ErrorCode.InvalidState, `${where} is not JSON; it was not written by Spillway, or the disk corrupted it — delete the location to start the query over`);
    }
    const version = (parsed as { version?: unknown } | null)?.version;
    if (typeof version === 'number' && version !== CHECKPOINT_VERSION) {
      throw new SpillwayError(ErrorCode.InvalidState, `${where} has version ${version}; this Spillway reads version ${CHECKPOINT_VERSION}`);
    }
    const result = metadataSchema.safeParse(parsed);
    if (!result.success) {
      const problems = result.error.issues.map((issue) => `${issue.path.join('.') || 'metadata'}: ${issue.message}`).join('; ');
      throw new SpillwayError(ErrorCode.InvalidState, `${where} is not checkpoint metadata (${problems}); delete the location to start the query over`);
    }
    return result.data;
  }

  /** The last progress mirrored for a shard, or undefined when none was committed yet. */
  async readProgress(shard = 0): Promise<ProgressRecord | undefined> {
    checkSinkShard(this.metadata.sink, shard);
    const path = join(this.directory, progressFile(shard));
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new SpillwayError(ErrorCode.InvalidState, `checkpoint file "${path}" cannot be read: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    const progress = decodeProgress(bytes, `checkpoint file "${path}"`);
    if (progress.sink !== this.metadata.sink || progress.shard !== shard) {
      throw new SpillwayError(ErrorCode.InvalidState, `checkpoint file "${path}" holds the progress of sink "${progress.sink}" shard ${progress.shard}, not sink "${this.metadata.sink}" shard ${shard}`);
    }
    return progress;
  }

  /**
   * Mirrors a committed progress record, atomically. A record of another sink, or one whose
   * epoch is before the mirrored one, is refused: progress only moves forward.
   */
  async writeProgress(progress: ProgressRecord): Promise<void> {
    if (progress.sink !== this.metadata.sink) {
      throw new SpillwayError(ErrorCode.InvalidState, `checkpoint location "${this.directory}" is sink "${this.metadata.sink}"'s; it cannot hold the progress of sink "${progress.sink}"`);
    }
    const current = await this.readProgress(progress.shard);
    if (current !== undefined && progress.epoch < current.epoch) {
      throw new SpillwayError(
        ErrorCode.InvalidState,
        `sink "${progress.sink}" shard ${progress.shard}: epoch ${progress.epoch} is before the committed epoch ${current.epoch} (${describePosition(current.position)}) in the checkpoint; progress only moves forward`,
      );
    }
    await writeFileAtomically(join(this.directory, progressFile(progress.shard)), encodeProgress(progress), this.directory);
  }
}
