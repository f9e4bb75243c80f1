/**
 * Partitioners choose a record's partition from its key bytes. They see bytes, never rows, and
 * keep whatever state they need (a round-robin cursor, bytes sent per partition) themselves.
 */
import { ErrorCode, SpillwayError } from '../errors.ts';
import { customPartitioner, loadPartitionerModule } from './custom-partitioner.ts';
import { javaKeyPartition } from './murmur2.ts';

export const PartitionerName = {
  /** Java-compatible murmur2 of the key; keyless records spread round-robin. */
  Hash: 'hash',
  RoundRobin: 'round-robin',
  /** The partition that has been sent the fewest bytes so far (Flux's least-bytes). */
  LeastBytes: 'least-bytes',
  /**
   * Writer i → partition i mod n (Flink's FlinkFixedPartitioner). A sink is one writer, index 0,
   * so every record lands on partition 0, as in Flink at parallelism 1.
   */
  Fixed: 'fixed',
  /** FNV-1a of the key with kafka-go's (and Sarama's) sign handling: Flux's `hash` balancer. */
  KafkaGoHash: 'kafka-go-hash',
} as const;
export type PartitionerName = (typeof PartitionerName)[keyof typeof PartitionerName];

export interface Partitioner {
  readonly name: string;
  /**
   * @param key the record's key bytes, or null for a keyless record
   * @param valueBytes size of the value (used by least-bytes)
   * @param writerIndex index of the parallel writer (used by fixed)
   * @param value the value bytes, or null for a tombstone (used by custom partitioners)
   */
  partition(key: Buffer | null, valueBytes: number, partitionCount: number, writerIndex: number, value?: Buffer | null): number;
}

/**
 * A custom partitioner: the record's key bytes (the `partitionBy` columns' bytes when given; null
 * for a keyless record), its value bytes (null for a tombstone) and the topic's partition count;
 * it returns the partition, an integer from 0 to partitions − 1 (anything else fails the sink).
 */
export type PartitionerFunction = (key: Buffer | null, value: Buffer | null, partitions: number) => number;

/** Text naming a module that exports a partitioner function: a relative or absolute path, or a file: URL. */
export function isPartitionerModulePath(text: string): boolean {
  return /^(\.{1,2}\/|\/|file:)/.test(text);
}

function checkCount(partitionCount: number): void {
  if (!Number.isInteger(partitionCount) || partitionCount < 1) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `a topic needs at least one partition to write to, but the partition count is ${partitionCount}; check the topic's metadata`,
    );
  }
}

function roundRobin(): (partitionCount: number) => number {
  let next = 0;
  return (partitionCount) => {
    const partition = next % partitionCount;
    next = (partition + 1) % partitionCount;
    return partition;
  };
}

export function hashPartitioner(): Partitioner {
  // A keyless record has nothing to hash; spreading it keeps partitions even (the Java client's
  // sticky partitioner spreads by batches to the same end).
  const spread = roundRobin();
  return {
    name: PartitionerName.Hash,
    partition(key, _valueBytes, partitionCount) {
      checkCount(partitionCount);
      return key === null ? spread(partitionCount) : javaKeyPartition(key, partitionCount);
    },
  };
}

export function roundRobinPartitioner(): Partitioner {
  const next = roundRobin();
  return {
    name: PartitionerName.RoundRobin,
    partition(_key, _valueBytes, partitionCount) {
      checkCount(partitionCount);
      return next(partitionCount);
    },
  };
}

export function leastBytesPartitioner(): Partitioner {
  const sent: number[] = [];
  return {
    name: PartitionerName.LeastBytes,
    partition(key, valueBytes, partitionCount) {
      checkCount(partitionCount);
      let best = 0;
      for (let p = 0; p < partitionCount; p++) {
        sent[p] ??= 0;
        if ((sent[p] as number) < (sent[best] as number)) best = p;
      }
      sent[best] = (sent[best] as number) + valueBytes + (key?.length ?? 0);
      return best;
    },
  };
}

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * FNV-1a, 32 bits: start from the offset basis, and for each byte xor it in, then multiply by
 * the FNV prime modulo 2^32. Returns the hash as an unsigned 32-bit number.
 */
export function fnv1a32(bytes: Uint8Array): number {
  let hash = FNV_OFFSET_BASIS;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, FNV_PRIME);
  return hash >>> 0;
}

/**
 * The partition kafka-go's `Hash` balancer picks (Flux's default `hash`; Sarama's hash
 * partitioner computes the same): the FNV-1a hash read as a signed 32-bit integer, its remainder
 * by the partition count with the dividend's sign (Go's `%`), and a negative remainder negated.
 * So 0x80000001 (−2147483647) on 10 partitions is −7 → 7, not 0x80000001 mod 10 = 9.
 */
export function kafkaGoHashPartition(key: Uint8Array, partitionCount: number): number {
  // JavaScript's % also keeps the dividend's sign; Math.abs negates it (and turns −0 into 0).
  return Math.abs((fnv1a32(key) | 0) % partitionCount);
}

/**
 * Flux's `hash` balancer (kafka-go's `Hash`). Flux always sends a key (the line's digest); a
 * keyless record goes round-robin, as kafka-go does.
 */
export function kafkaGoHashPartitioner(): Partitioner {
  const spread = roundRobin();
  return {
    name: PartitionerName.KafkaGoHash,
    partition(key, _valueBytes, partitionCount) {
      checkCount(partitionCount);
      return key === null ? spread(partitionCount) : kafkaGoHashPartition(key, partitionCount);
    },
  };
}

export function fixedPartitioner(): Partitioner {
  return {
    name: PartitionerName.Fixed,
    partition(_key, _valueBytes, partitionCount, writerIndex) {
      checkCount(partitionCount);
      return writerIndex % partitionCount;
    },
  };
}

const factories: Record<PartitionerName, () => Partitioner> = {
  hash: hashPartitioner,
  'round-robin': roundRobinPartitioner,
  'least-bytes': leastBytesPartitioner,
  fixed: fixedPartitioner,
  'kafka-go-hash': kafkaGoHashPartitioner,
};

/**
 * The partitioner a sink spec chose: by name, a function, or a module path (imported now, so a
 * missing module or export fails before anything connects).
 */
export function createPartitioner(choice: PartitionerName | PartitionerFunction | (string & {}), context: { readonly sink: string } = { sink: '(unnamed)' }): Partitioner {
  if (typeof choice === 'function') return customPartitioner(choice, 'the partitioner function', context.sink);
  if (isPartitionerModulePath(choice)) {
    const { partition, source } = loadPartitionerModule(choice, context.sink);
    return customPartitioner(partition, source, context.sink);
  }
  const name = choice as PartitionerName;
  const factory = factories[name] as (() => Partitioner) | undefined;
  if (factory === undefined) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `unknown partitioner "${String(name)}"; use one of ${Object.keys(factories).join(', ')}`,
    );
  }
  return factory();
}
