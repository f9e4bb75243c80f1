/**
 * The Kafka layer's one interface. It sees records of bytes, never rows: encoders and the sink
 * decide what the bytes are and which partition they go to; a writer only delivers them.
 */
export interface KafkaHeader {
  readonly key: string;
  readonly value: Buffer;
}

export interface KafkaRecord {
  readonly topic: string;
  readonly partition: number;
  /** `null` for a keyless record. */
  readonly key: Buffer | null;
  /** `null` for a tombstone. */
  readonly value: Buffer | null;
  readonly headers?: readonly KafkaHeader[];
  /** Milliseconds since the epoch; the broker's append time applies when absent. */
  readonly timestamp?: bigint;
}

export interface TopicDescription {
  readonly name: string;
  readonly partitions: number;
}

export interface RecordWriter {
  /** Partition count of a topic, creating it with the broker's defaults if the broker allows that. */
  describeTopic(topic: string): Promise<TopicDescription>;
  /**
   * Delivers the records, in order per partition. Resolves once the delivery guarantee is met
   * (acknowledged by the broker for at-least-once; handed to the socket for `none`).
   */
  write(records: readonly KafkaRecord[]): Promise<void>;
  /** Closes the connections; later writes fail. */
  close(): Promise<void>;
}
