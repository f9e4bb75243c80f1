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
export type CompressionType = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
export type SecurityProtocol = 'plaintext' | 'ssl' | 'sasl_plaintext' | 'sasl_ssl';
export type SaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512' | 'OAUTHBEARER';

export interface ProducerSettings {
  readonly bootstrapServers: readonly string[];
  readonly clientId: string;
  readonly acks: Acks;
  readonly idempotent: boolean;
  readonly compression: CompressionType;
  /** How long the sink waits to fill a batch before sending it. */
  readonly lingerMs: number;
  /** Upper bound of a batch in bytes (of keys and values). */
  readonly batchSize: number;
  /** Upper bound of a batch in records. */
  readonly batchNumMessages: number;
  /** Changes a sink queues before it closes its gate and holds back its sources. */
  readonly maxQueuedChanges: number;
  /** Largest record the sink will send; bigger ones go to the error policy. */
  readonly maxMessageBytes: number;
  readonly requestTimeoutMs: number;
  /** Total time a write may take, retries included, before it fails. */
  readonly deliveryTimeoutMs: number;
  readonly retries: number;
  readonly retryBackoffMs: number;
  readonly connectTimeoutMs: number;
  readonly metadataMaxAgeMs: number;
  readonly maxInFlight: number;
  readonly transactionalId?: string;
  readonly securityProtocol: SecurityProtocol;
  readonly sasl?: { readonly mechanism: SaslMechanism; readonly username: string; readonly password: string };
  readonly tls?: {
    readonly ca?: string;
    readonly cert?: string;
    readonly key?: string;
    readonly keyPassword?: string;
    readonly rejectUnauthorized: boolean;
    /** Check the broker's host name against its certificate (ssl.endpoint.identification.algorithm=https). */
    readonly verifyHostname?: boolean;
  };
}
