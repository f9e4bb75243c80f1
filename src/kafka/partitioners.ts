/**
 * Partitioners choose a record's partition from its key bytes. They see bytes, never rows, and
 * keep whatever state they need (a round-robin cursor, bytes sent per partition) themselves.
 */
import { ErrorCode, SpillwayError } from '../errors.ts';
import { javaKeyPartition } from './murmur2.ts';

export const PartitionerName = {
  /** Java-compatible murmur2 of the key; keyless records spread round-robin. */
  Hash: 'hash',
  RoundRobin: 'round-robin',
  /** The partition that has been sent the fewest bytes so far (Flux's least-bytes). */
  LeastBytes: 'least-bytes',
  /** Writer i → partition i mod n (Flink's FlinkFixedPartitioner). */
  Fixed: 'fixed',
} as const;
export type PartitionerName = (typeof PartitionerName)[keyof typeof PartitionerName];

export interface Partitioner {
  readonly name: string;
  /**
   * @param key the record's key bytes, or null for a keyless record
   * @param valueBytes size of the value (used by least-bytes)
   * @param writerIndex index of the parallel writer (used by fixed)
   */
  partition(key: Buffer | null, valueBytes: number, partitionCount: number, writerIndex: number): number;
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
};

export function createPartitioner(name: PartitionerName): Partitioner {
  const factory = factories[name] as (() => Partitioner) | undefined;
  if (factory === undefined) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `unknown partitioner "${String(name)}"; use one of ${Object.keys(factories).join(', ')}`,
    );
  }
  return factory();
}
