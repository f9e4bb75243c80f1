/**
 * The encode stage: a trigger's record intents become Kafka records — keys, values, headers and
 * timestamps encoded, partitions chosen — with the error policy applied to what cannot be written
 * (an intent its encoders refuse, or a record larger than message.max.bytes): `fail` throws,
 * naming the row; `skip` counts it; `dead-letter` counts it and adds a record for the
 * dead-letter topic to the same batch (src/sink/dead-letter.ts). It knows nothing of delivery.
 */
import { ErrorCode, SpillwayError, asSpillwayError } from '../errors.ts';
import type { KafkaRecord, TopicDescription } from '../kafka/record-writer.ts';
import { DeadLetterStage, deadLetter } from './dead-letter.ts';
import type { PartitionChooser } from './plan.ts';
import { BatchTexts, type RecordBuilder, type RecordDraft } from './record-builder.ts';
import type { SinkSpec } from './sink-spec.ts';
import type { RecordIntent } from './update-modes.ts';

export interface EncodeStageOptions {
  readonly spec: SinkSpec;
  readonly builder: RecordBuilder;
  /** The value format puts many intents in one message (Feldera's `array: true`). */
  readonly arrays: boolean;
  readonly maxMessageBytes: number;
  readonly partitioner: PartitionChooser;
  /** Learns a topic's partition count (creating the topic if the broker does that). */
  readonly describeTopic: (topic: string) => Promise<TopicDescription>;
}

export interface EncodedBatch {
  readonly records: KafkaRecord[];
  /** Key and value bytes of the records for the table's topics (dead letters not counted). */
  readonly bytes: number;
}

interface Encoded {
  readonly topic: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

export class EncodeStage {
  readonly #spec: SinkSpec;
  readonly #builder: RecordBuilder;
  readonly #arrays: boolean;
  readonly #maxMessageBytes: number;
  readonly #partitioner: PartitionChooser;
  readonly #describeTopic: (topic: string) => Promise<TopicDescription>;
  readonly #partitionCounts = new Map<string, number>();
  /** Dead-letter records of the batch being encoded, sent with it. */
  #deadLetters: KafkaRecord[] = [];
  #errors = 0;

  constructor(options: EncodeStageOptions) {
    this.#spec = options.spec;
    this.#builder = options.builder;
    this.#arrays = options.arrays;
    this.#maxMessageBytes = options.maxMessageBytes;
    this.#partitioner = options.partitioner;
    this.#describeTopic = options.describeTopic;
  }

  /** Intents that could not be written: skipped, or sent to the dead-letter topic. */
  get errors(): number {
    return this.#errors;
  }

  /** Learns the topics' partitions now, so a wrong address or a missing topic fails before the first trigger. */
  async prepare(): Promise<void> {
    if (this.#spec.topic !== undefined) await this.#partitionCount(this.#spec.topic);
    if (this.#spec.deadLetterTopic !== undefined) await this.#partitionCount(this.#spec.deadLetterTopic);
  }

  /** One batch of intents as records, written by trigger number `trigger`. */
  async encode(intents: readonly RecordIntent[], trigger: number): Promise<EncodedBatch> {
    const drafts = this.#arrays ? this.#arrayDrafts(intents, trigger) : this.#drafts(intents, trigger);
    let bytes = 0;
    // An index, not for-of: the await in the loop would make the iterator allocate per record.
    for (let i = 0; i < drafts.length; i++) {
      const draft = drafts[i] as RecordDraft;
      // Known topics are looked up without a wait per record; only a new topic is described.
      const partitions = this.#partitionCounts.get(draft.topic) ?? (await this.#partitionCount(draft.topic));
      if (draft.partition !== undefined && (draft.partition < 0 || draft.partition >= partitions || !Number.isInteger(draft.partition))) {
        throw new SpillwayError(
          ErrorCode.InvalidValue,
          `sink "${this.#spec.name}": partition column value ${draft.partition} is not a partition of "${draft.topic}" (0..${partitions - 1})`,
        );
      }
      // The draft becomes the record (it keeps its partition key, which the writer ignores).
      draft.partition ??= this.#partitioner(draft.partitionKey, draft.value, partitions);
      bytes += (draft.key?.length ?? 0) + (draft.value?.length ?? 0);
    }
    // Every draft has its partition now: the drafts are the records.
    const records = drafts as KafkaRecord[];
    for (const letter of this.#deadLetters.splice(0)) {
      const partitions = this.#partitionCounts.get(letter.topic) ?? (await this.#partitionCount(letter.topic));
      records.push({ ...letter, partition: this.#partitioner(letter.key, letter.value, partitions) });
    }
    return { records, bytes };
  }

  async #partitionCount(topic: string): Promise<number> {
    let count = this.#partitionCounts.get(topic);
    if (count === undefined) {
      count = (await this.#describeTopic(topic)).partitions;
      this.#partitionCounts.set(topic, count);
    }
    return count;
  }

  #drafts(intents: readonly RecordIntent[], trigger: number): RecordDraft[] {
    // Made at the batch's size; cut to the records kept at the end.
    const drafts = new Array<RecordDraft>(intents.length);
    let built = 0;
    // Each draft's intent, kept only once an intent is rejected: until then draft i is intent i's.
    let builtFrom: RecordIntent[] | undefined;
    const texts = new BatchTexts(intents.length, this.#builder.batchValues(intents));
    const build = (intent: RecordIntent) => this.#builder.build(intent, trigger, texts);
    for (let i = 0; i < intents.length; i++) {
      const intent = intents[i] as RecordIntent;
      const draft = this.#encodeOrReject(intent, build);
      if (draft === undefined) {
        builtFrom ??= intents.slice(0, i);
        continue;
      }
      drafts[built++] = draft;
      builtFrom?.push(intent);
    }
    // Sizes are known once the batch's texts are bytes.
    this.#builder.writeTexts(texts);
    let kept = 0;
    for (let i = 0; i < built; i++) {
      const draft = drafts[i] as RecordDraft;
      if (this.#fits((builtFrom ?? intents)[i] as RecordIntent, draft)) drafts[kept++] = draft;
    }
    drafts.length = kept;
    return drafts;
  }

  /** Many intents per message; a message over message.max.bytes is split in halves until it fits. */
  #arrayDrafts(intents: readonly RecordIntent[], trigger: number): RecordDraft[] {
    if (intents.length === 0) return [];
    const first = intents[0] as RecordIntent;
    const draft = this.#encodeOrReject(first, () => this.#builder.buildArray(intents, trigger));
    if (draft !== undefined && !this.#oversized(draft)) return [draft];
    if (intents.length === 1) {
      // One change too large on its own goes to the error policy.
      if (draft !== undefined) this.#fits(first, draft);
      return [];
    }
    const middle = Math.ceil(intents.length / 2);
    return [...this.#arrayDrafts(intents.slice(0, middle), trigger), ...this.#arrayDrafts(intents.slice(middle), trigger)];
  }

  /**
   * Encodes, applying the error policy to an intent that cannot be written. The size is checked
   * by the caller (`#fits`), once texts are bytes.
   */
  #encodeOrReject(intent: RecordIntent, encode: (intent: RecordIntent) => RecordDraft): RecordDraft | undefined {
    try {
      return encode(intent);
    } catch (error) {
      const part = this.#spec.errorPolicy === 'dead-letter' ? this.#builder.failedPart(intent) : 'record';
      const stage = part === 'key' ? DeadLetterStage.KeyConverter : part === 'value' ? DeadLetterStage.ValueConverter : DeadLetterStage.HeaderConverter;
      this.#reject(intent, asSpillwayError(error, ErrorCode.EncodeFailed), stage);
      return undefined;
    }
  }

  #oversized(draft: RecordDraft): boolean {
    return sizeOf(draft) > this.#maxMessageBytes;
  }

  /** Whether the record is within message.max.bytes; if not, the error policy gets its intent. */
  #fits(intent: RecordIntent, draft: RecordDraft): boolean {
    if (!this.#oversized(draft)) return true;
    this.#reject(
      intent,
      new SpillwayError(
        ErrorCode.EncodeFailed,
        `a record of ${sizeOf(draft)} bytes exceeds message.max.bytes (${this.#maxMessageBytes}); ` + "raise message.max.bytes (and the topic's max.message.bytes) or write smaller rows",
      ),
      DeadLetterStage.KafkaProduce,
      // Too large to write, so too large to dead-letter whole: its key and the error go.
      { topic: draft.topic, key: draft.key, value: null },
    );
    return false;
  }

  /** Applies the error policy to a record that cannot be written. */
  #reject(intent: RecordIntent, error: SpillwayError, stage: DeadLetterStage, encoded?: Encoded): void {
    const spec = this.#spec;
    if (spec.errorPolicy === 'skip') {
      this.#errors++;
      return;
    }
    const what = intent.type === 'change' ? ` (${intent.change.op})` : intent.type === 'tombstone' ? ' (tombstone)' : '';
    const failure = new SpillwayError(error.code, `sink "${spec.name}": row ${String(intent.id)}${what} cannot be written: ${error.message}`, { cause: error });
    if (spec.errorPolicy === 'fail' || spec.deadLetterTopic === undefined) throw failure;
    this.#errors++;
    const topic = encoded?.topic ?? spec.topic ?? spec.topicColumn ?? '';
    const letter = deadLetter({ sink: spec.name, shard: 0, topic, stage, error: failure, encoded, intent });
    // The partition is chosen with the batch, once the dead-letter topic's partitions are known.
    this.#deadLetters.push({ topic: spec.deadLetterTopic, partition: 0, key: letter.key, value: letter.value, headers: letter.headers });
  }
}

function sizeOf(draft: RecordDraft): number {
  return (draft.key?.length ?? 0) + (draft.value?.length ?? 0);
}
