/**
 * Kafka's default partitioning, as the Java client does it: 32-bit MurmurHash2 of the key bytes
 * with seed 0x9747b28c, processed in little-endian 4-byte words with the tail bytes mixed in
 * reverse order, then `toPositive(hash) % partitions` where toPositive clears the sign bit.
 * Golden vectors printed by the Java client itself (test/fixtures/java) prove equality.
 */
const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 of the key bytes, as a signed 32-bit integer (what Java returns). */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const words = length >> 2;
  for (let i = 0; i < words; i++) {
    const offset = i << 2;
    let k =
      (data[offset] as number) |
      ((data[offset + 1] as number) << 8) |
      ((data[offset + 2] as number) << 16) |
      ((data[offset + 3] as number) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = words << 2;
  switch (length & 3) {
    case 3:
      h ^= (data[tail + 2] as number) << 16;
    // falls through
    case 2:
      h ^= (data[tail + 1] as number) << 8;
    // falls through
    case 1:
      h ^= data[tail] as number;
      h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Java's Utils.toPositive: clears the sign bit (not Math.abs, which differs for MIN_VALUE). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** The partition the Java client's default partitioner gives a keyed record. */
export function javaKeyPartition(key: Uint8Array, partitionCount: number): number {
  return toPositive(murmur2(key)) % partitionCount;
}
