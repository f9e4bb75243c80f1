import { ErrorCode, SpillwayError } from '../errors.ts';
import type { KafkaRecord, RecordWriter, TopicDescription } from './record-writer.ts';

/**
 * An in-memory RecordWriter for unit tests of the layers above Kafka. It passes the same
 * conformance suite as the real writer; it is never used in place of Kafka outside tests.
 */
export class MemoryWriter implements RecordWriter {
  readonly topics = new Map<string, KafkaRecord[][]>();
  readonly #partitions: number;
  #closed = false;
  #failure: SpillwayError | undefined;
  /** Writes land one after another, in call order, as the real writer's do. */
  #writing: Promise<void> = Promise.resolve();
  /** When set, the next write fails with this error (to test the sink's failure path). */
  failNextWrite: Error | undefined;

  constructor(options: { readonly partitions?: number } = {}) {
    this.#partitions = options.partitions ?? 1;
  }

  #check(operation: string): void {
    if (this.#closed) throw new SpillwayError(ErrorCode.InvalidState, `cannot ${operation}: the writer is closed`);
    if (this.#failure !== undefined) throw this.#failure;
  }

  async describeTopic(topic: string): Promise<TopicDescription> {
    this.#check('describe a topic');
    await Promise.resolve();
    if (!this.topics.has(topic)) {
      this.topics.set(topic, Array.from({ length: this.#partitions }, () => []));
    }
    return { name: topic, partitions: this.topics.get(topic)?.length ?? this.#partitions };
  }

  async write(records: readonly KafkaRecord[]): Promise<void> {
    this.#check('write');
    const failure = this.failNextWrite;
    if (failure !== undefined) {
      this.failNextWrite = undefined;
      throw failure;
    }
    const written = this.#writing.then(() => this.#append(records));
    this.#writing = written.catch(() => {});
    await written;
  }

  async #append(records: readonly KafkaRecord[]): Promise<void> {
    this.#check('write');
    for (const record of records) {
      const { partitions } = await this.describeTopic(record.topic);
      if (record.partition < 0 || record.partition >= partitions) {
        // As with Kafka: the records before it are delivered, and the writer has failed.
        this.#failure = new SpillwayError(ErrorCode.DeliveryFailed, `partition ${record.partition} of "${record.topic}" does not exist`);
        throw this.#failure;
      }
      this.topics.get(record.topic)?.[record.partition]?.push(record);
    }
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  /** Every record of a topic, partition by partition. */
  records(topic: string): KafkaRecord[] {
    return (this.topics.get(topic) ?? []).flat();
  }
}
