/**
 * The Kafka producer settings Spillway understands, normalized from the librdkafka / Java
 * property names (see `kafka-properties.ts`). The Kafka client adapter maps these onto the client.
 */
export const DeliveryGuarantee = {
  /** Fire and forget: acks=0, no idempotence; records may be lost. */
  None: 'none',
  /** Idempotent producer with acks=all: nothing is lost, a restart may repeat records. */
  AtLeastOnce: 'at-least-once',
  /** Kafka transactions per epoch (see the delivery docs). */
  ExactlyOnce: 'exactly-once',
} as const;
export type DeliveryGuarantee = (typeof DeliveryGuarantee)[keyof typeof DeliveryGuarantee];

export type Acks = -1 | 0 | 1;

/** A librdkafka property value as the client takes it. */
export type ClientConfigValue = string | number | boolean;

/** An OAUTHBEARER token, as a token provider returns it (librdkafka's token refresh callback). */
export interface OAuthBearerToken {
  /** The compact-serialized token (a JWT, say). */
  readonly tokenValue: string;
  /** When the token expires, in milliseconds since the epoch. */
  readonly lifetime: number;
  /** The principal the token is for. */
  readonly principal: string;
  /** SASL extensions sent with the token. */
  readonly extensions?: Readonly<Record<string, string>>;
}

/** Called with `sasl.oauthbearer.config` whenever a token is needed (at start, then at 80% of its lifetime). */
export type OAuthBearerTokenProvider = (oauthbearerConfig: string) => Promise<OAuthBearerToken>;

/** What a client needs to reach the cluster: the addresses and the librdkafka configuration. */
export interface ConnectionSettings {
  readonly bootstrapServers: readonly string[];
  /** Every librdkafka property, by librdkafka's names, as given or mapped from the Java names. */
  readonly clientConfig: Readonly<Record<string, ClientConfigValue>>;
  readonly oauthBearerTokenProvider?: OAuthBearerTokenProvider;
  /** How long to wait for one broker response. */
  readonly requestTimeoutMs: number;
}

export interface ProducerSettings extends ConnectionSettings {
  readonly acks: Acks;
  readonly idempotent: boolean;
  /** How long the sink waits to fill a batch before sending it (librdkafka lingers too). */
  readonly lingerMs: number;
  /** Upper bound of a librdkafka message set in records. */
  readonly batchNumMessages: number;
  /**
   * The most records a sink takes per batch and hands the writer at once: batch.num.messages, at
   * most SINK_BATCH_RECORDS. librdkafka still fills its message sets from several of them.
   */
  readonly sinkBatchRecords: number;
  /** Changes a sink queues before it closes its gate and holds back its sources. */
  readonly maxQueuedChanges: number;
  /** Largest record the sink will send; bigger ones go to the error policy. */
  readonly maxMessageBytes: number;
  /** Total time a record may take to be acknowledged, retries included, before it fails. */
  readonly deliveryTimeoutMs: number;
  /** Longest a write waits for room in the producer's queue before it fails (Java's max.block.ms). */
  readonly maxBlockMs: number;
  readonly transactionalId?: string;
  /** The transaction timeout the producer asks the coordinator for (transaction.timeout.ms). */
  readonly transactionTimeoutMs: number;
}

/** The Kafka-topic source's consumer settings. */
export interface ConsumerSettings extends ConnectionSettings {
  /** Only committed transactional records (isolation.level=read_committed, the default). */
  readonly readCommitted: boolean;
  /** Where to start when the table does not say (auto.offset.reset). */
  readonly startFrom?: 'earliest' | 'latest';
  /** Most records handed over at once (Java's max.poll.records). */
  readonly maxPollRecords: number;
}
