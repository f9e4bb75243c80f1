/**
 * Hands a write's records to librdkafka in one native call (`native/batch-produce.cc`, built when
 * Spillway is installed): the main thread lays the records out in three arrays, and a libuv worker
 * thread produces them with the Kafka client's own librdkafka producer. The client's produce()
 * costs the main thread about 1.2 µs a record; laying a record out costs a tenth of that.
 */
import { createRequire } from 'node:module';
import { ErrorCode, SpillwayError } from '../errors.ts';

interface NativeBatchProducer {
  produce(
    client: object,
    topics: readonly string[],
    count: number,
    layout: Int32Array,
    timestamps: Float64Array,
    bytes: Uint8Array,
    maxBlockMs: number,
    stop: Int32Array,
    done: (produced: number, errorCode: number, errorText: string) => void,
    acknowledged?: (errorCode: number, errorText: string, topic: string, partition: number) => void,
  ): void;
}

/**
 * How a batch's records ended: all acknowledged (`errorCode` 0), or the first failed record's
 * error and partition. Only for a producer created with `plugin.library.paths` naming
 * `nativeModulePath()`: the addon is also a librdkafka plugin that counts acknowledgements.
 */
export interface BatchAcknowledgement {
  readonly errorCode: number;
  readonly errorText: string;
  readonly topic: string;
  readonly partition: number;
}

/** A record as the batch producer reads it: the writer's records have this shape. */
export interface BatchRecord {
  readonly topic: string;
  readonly partition: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers?: readonly { readonly key: string; readonly value: Uint8Array }[];
  readonly timestamp?: bigint;
}

/** What one produce() call got through: `produced` records, then `errorCode` (0: all of them). */
export interface BatchOutcome {
  readonly produced: number;
  readonly errorCode: number;
  /** librdkafka's words for `errorCode`. */
  readonly errorText: string;
}

/** Where `npm install` builds the addon: the same path from src/kafka and from dist/kafka. */
export const NATIVE_BATCH_PRODUCER = '../../build/Release/batch_produce.node';

let native: NativeBatchProducer | undefined;


/** Loads the addon once; a missing or unloadable build is refused with how to build it. */
export function loadNativeBatchProducer(path: string = NATIVE_BATCH_PRODUCER): NativeBatchProducer {
  if (native !== undefined && path === NATIVE_BATCH_PRODUCER) return native;
  let loaded: NativeBatchProducer;
  try {
    loaded = createRequire(import.meta.url)(path) as NativeBatchProducer;
  } catch (error) {
    throw new SpillwayError(
      ErrorCode.Internal,
      `Spillway's native batch producer (${path}) could not be loaded: ${(error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ')}. ` +
        'It is built when Spillway is installed, against the Node that runs it; build it again with `npm rebuild spillway` ' +
        '(in a checkout: `bash scripts/bootstrap.sh`), which needs a C++ compiler and Node\'s headers',
      { cause: error },
    );
  }
  if (path === NATIVE_BATCH_PRODUCER) native = loaded;
  return loaded;
}

/**
 * The addon's file, for librdkafka's plugin.library.paths; loaded by Node first, so librdkafka's
 * own dlopen finds it loaded (loaded by librdkafka first, Node could not register it).
 */
export function nativeModulePath(): string {
  loadNativeBatchProducer();
  return createRequire(import.meta.url).resolve(NATIVE_BATCH_PRODUCER);
}

const LAYOUT_FIELDS = 5;

/**
 * A write's records laid out for the addon: for each record its topic (an index into `topics`),
 * partition, key and value lengths (-1: null) and header count, then its headers' name and value
 * lengths, in `layout`; its bytes one after another in `bytes`; its timestamp in `timestamps`.
 */
export interface LaidOutBatch {
  readonly topics: readonly string[];
  readonly count: number;
  readonly layout: Int32Array;
  readonly timestamps: Float64Array;
  readonly bytes: Buffer;
  /** Bytes of `bytes` the records use. */
  readonly used: number;
}

/** Buffers a batch laid out in, reused once its records are produced. */
interface LayoutBuffers {
  layout: Int32Array;
  timestamps: Float64Array;
  bytes: Buffer;
}

/** Layouts kept for reuse; a writer has a few writes in flight. */
const POOLED_LAYOUTS = 8;

/**
 * Lays writes out as they are made, so their records are garbage at once: a write that waits its
 * turn at the producer holds only its laid-out bytes, not a thousand objects that would live long
 * enough to be promoted to the old generation (measured: with 16 writes waiting, most of a
 * write's objects were, and a collection of the old generation followed every few writes).
 */
export class BatchLayouts {
  readonly #free: LayoutBuffers[] = [];

  /** The records from `records[0]` as a batch; `release` it once produced. */
  layOut(records: readonly BatchRecord[]): LaidOutBatch {
    const count = records.length;
    const buffers = this.#free.pop() ?? { layout: new Int32Array(LAYOUT_FIELDS * 1024), timestamps: new Float64Array(1024), bytes: Buffer.allocUnsafeSlow(1 << 18) };
    if (buffers.layout.length < LAYOUT_FIELDS * count) buffers.layout = new Int32Array(LAYOUT_FIELDS * count);
    if (buffers.timestamps.length < count) buffers.timestamps = new Float64Array(count);
    const topics: string[] = [];
    let lastTopic: string | undefined;
    let topicIndex = 0;
    const timestamps = buffers.timestamps;
    let layout = buffers.layout;
    let bytes = buffers.bytes;
    let at = 0;
    let used = 0;
    for (let i = 0; i < count; i++) {
      const record = records[i] as BatchRecord;
      if (record.topic !== lastTopic) {
        lastTopic = record.topic;
        topicIndex = topics.indexOf(lastTopic);
        if (topicIndex < 0) topicIndex = topics.push(lastTopic) - 1;
      }
      const { key, value, headers } = record;
      const headerCount = headers === undefined ? 0 : headers.length;
      const needed = (key === null ? 0 : key.length) + (value === null ? 0 : value.length) + (headerCount === 0 ? 0 : headerBytes(headers));
      if (used + needed > bytes.length) bytes = buffers.bytes = grownBytes(bytes, used + needed, used);
      if (at + LAYOUT_FIELDS + 2 * headerCount > layout.length) {
        layout = buffers.layout = grownLayout(layout, at + LAYOUT_FIELDS + 2 * headerCount + LAYOUT_FIELDS * (count - i), at);
      }
      layout[at] = topicIndex;
      layout[at + 1] = record.partition;
      if (key === null) layout[at + 2] = -1;
      else {
        layout[at + 2] = key.length;
        bytes.set(key, used);
        used += key.length;
      }
      if (value === null) layout[at + 3] = -1;
      else {
        layout[at + 3] = value.length;
        bytes.set(value, used);
        used += value.length;
      }
      layout[at + 4] = headerCount;
      at += LAYOUT_FIELDS;
      for (let h = 0; h < headerCount; h++) {
        const header = (headers as NonNullable<BatchRecord['headers']>)[h] as NonNullable<BatchRecord['headers']>[number];
        const nameLength = bytes.write(header.key, used, 'utf8');
        layout[at++] = nameLength;
        used += nameLength;
        layout[at++] = header.value.length;
        bytes.set(header.value, used);
        used += header.value.length;
      }
      timestamps[i] = record.timestamp === undefined ? 0 : Number(record.timestamp);
    }
    return { topics, count, layout, timestamps, bytes, used };
  }

  /** The batch's buffers are free again (its produce call settled). */
  release(batch: LaidOutBatch): void {
    if (this.#free.length < POOLED_LAYOUTS) this.#free.push({ layout: batch.layout, timestamps: batch.timestamps, bytes: batch.bytes });
  }
}

/** Record `index` of a laid-out batch: its topic and partition, to name it in an error. */
export function laidOutRecord(batch: LaidOutBatch, index: number): Pick<BatchRecord, 'topic' | 'partition'> {
  let at = 0;
  for (let i = 0; i < index; i++) at += LAYOUT_FIELDS + 2 * (batch.layout[at + 4] as number);
  return { topic: batch.topics[batch.layout[at] as number] as string, partition: batch.layout[at + 1] as number };
}

/**
 * Batches a producer may have given to the addon and not yet produced: the next is given while the
 * last is produced, so the addon's worker thread goes on to it without waiting for the main
 * thread; a bound, so that a full queue holds the writer back instead of piling batches up.
 */
const PRODUCING_AT_ONCE = 2;

/**
 * One producer's batch path: batches are produced in the order given, up to
 * PRODUCING_AT_ONCE given at a time (`room` says when another may be).
 */
export class BatchProducer {
  readonly #native = loadNativeBatchProducer();
  readonly #client: object;
  readonly #stop = new Int32Array(new SharedArrayBuffer(4));
  /** Settles when each batch given and not yet produced is, oldest first. */
  readonly #producing: Promise<unknown>[] = [];

  /** `client` is the Kafka client's native producer (`Producer._client`), connected. */
  constructor(client: object) {
    this.#client = client;
  }

  /**
   * Produces a laid-out batch. A full queue is waited out for at most `maxBlockMs`; the first
   * record refused ends the call, with its error code. With `acknowledged`, it is told once every
   * record produced is acknowledged, or one failed (not when the call ends with an error).
   */
  produce(batch: LaidOutBatch, maxBlockMs: number, acknowledged?: (outcome: BatchAcknowledgement) => void): Promise<BatchOutcome> {
    if (this.#producing.length >= PRODUCING_AT_ONCE) return Promise.reject(new Error(`${PRODUCING_AT_ONCE} batches are being produced; wait for room()`));
    const produced = new Promise<BatchOutcome>((resolve, reject) => {
      try {
        this.#native.produce(
          this.#client,
          batch.topics,
          batch.count,
          batch.layout,
          batch.timestamps,
          batch.bytes.subarray(0, batch.used),
          maxBlockMs,
          this.#stop,
          (produced, errorCode, errorText) => resolve({ produced, errorCode, errorText }),
          acknowledged === undefined ? undefined : (errorCode, errorText, topic, partition) => acknowledged({ errorCode, errorText, topic, partition }),
        );
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    const done = () => void this.#producing.splice(this.#producing.indexOf(settled), 1);
    const settled: Promise<void> = produced.then(done, done);
    this.#producing.push(settled);
    return produced;
  }

  /** Resolves once every batch given is produced (or failed). */
  async idle(): Promise<void> {
    await Promise.all(this.#producing);
  }

  /** Resolves once another batch may be given (fewer than PRODUCING_AT_ONCE are being produced). */
  async room(): Promise<void> {
    while (this.#producing.length >= PRODUCING_AT_ONCE) await this.#producing[0];
  }

  /** Ends a wait for room in a full queue at once (the call settles with the queue-full code). */
  stop(): void {
    Atomics.store(this.#stop, 0, 1);
  }
}

function grownLayout(layout: Int32Array, length: number, used: number): Int32Array {
  const grown = new Int32Array(length);
  grown.set(layout.subarray(0, used));
  return grown;
}

function grownBytes(bytes: Buffer, length: number, used: number): Buffer {
  const grown = Buffer.allocUnsafeSlow(Math.max(length, 2 * bytes.length));
  bytes.copy(grown, 0, 0, used);
  return grown;
}

function headerBytes(headers: BatchRecord['headers']): number {
  let length = 0;
  for (const header of headers ?? []) length += Buffer.byteLength(header.key, 'utf8') + header.value.length;
  return length;
}
