import assert from 'node:assert/strict';
import { it } from 'node:test';
import { readFileSync } from 'node:fs';
import {
  createPartitioner,
  fixedPartitioner,
  fnv1a32,
  hashPartitioner,
  kafkaGoHashPartition,
  kafkaGoHashPartitioner,
  leastBytesPartitioner,
  roundRobinPartitioner,
} from '../../src/kafka/partitioners.ts';
import { javaKeyPartition } from '../../src/kafka/murmur2.ts';

it('hash uses the Java key partition and spreads keyless records', () => {
  const hash = hashPartitioner();
  const key = Buffer.from('AAPL');
  assert.equal(hash.partition(key, 10, 6, 0), javaKeyPartition(key, 6));
  assert.deepEqual([0, 1, 2, 3].map(() => hash.partition(null, 1, 3, 0)), [0, 1, 2, 0]);
});

it('round-robin cycles, fixed maps the writer index, least-bytes balances bytes', () => {
  const rr = roundRobinPartitioner();
  assert.deepEqual([1, 2, 3, 4, 5].map(() => rr.partition(Buffer.from('k'), 1, 2, 0)), [0, 1, 0, 1, 0]);
  const fixed = fixedPartitioner();
  assert.deepEqual([0, 1, 2, 3, 4].map((writer) => fixed.partition(null, 1, 3, writer)), [0, 1, 2, 0, 1]);
  const least = leastBytesPartitioner();
  assert.equal(least.partition(null, 100, 3, 0), 0);
  assert.equal(least.partition(null, 10, 3, 0), 1);
  assert.equal(least.partition(null, 10, 3, 0), 2);
  assert.equal(least.partition(null, 10, 3, 0), 1);
  assert.equal(least.partition(null, 10, 3, 0), 2);
});

it('refuses a partition count below one and an unknown name, saying what to do', () => {
  assert.throws(() => hashPartitioner().partition(null, 0, 0, 0), {
    code: 'INVALID_CONFIG',
    message: "a topic needs at least one partition to write to, but the partition count is 0; check the topic's metadata",
  });
  assert.throws(() => createPartitioner('sticky'), {
    code: 'INVALID_CONFIG',
    message: 'unknown partitioner "sticky"; use one of hash, round-robin, least-bytes, fixed, kafka-go-hash',
  });
});

interface KafkaGoVector {
  readonly hex: string;
  readonly fnv1a32: number;
  readonly partitions: Readonly<Record<string, number>>;
}

const kafkaGoVectors = readFileSync(new URL('../fixtures/kafka-go-hash-vectors.jsonl', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as KafkaGoVector);

it('FNV-1a matches the published test values', () => {
  assert.equal(fnv1a32(Buffer.alloc(0)), 0x811c9dc5);
  assert.equal(fnv1a32(Buffer.from('a')), 0xe40c292c);
  assert.equal(fnv1a32(Buffer.from('foobar')), 0xbf9cf968);
});

it('kafka-go-hash picks the partitions of the independent golden vectors, negative hashes included', () => {
  assert.ok(kafkaGoVectors.length >= 60);
  // The sign handling only shows on hashes at or above 2^31; the vectors must exercise it.
  assert.ok(kafkaGoVectors.filter((vector) => vector.fnv1a32 >= 2 ** 31).length >= 10);
  const partitioner = kafkaGoHashPartitioner();
  for (const vector of kafkaGoVectors) {
    const key = Buffer.from(vector.hex, 'hex');
    assert.equal(fnv1a32(key), vector.fnv1a32, `fnv1a32 of ${vector.hex}`);
    for (const [count, partition] of Object.entries(vector.partitions)) {
      assert.equal(partitioner.partition(key, 0, Number(count), 0), partition, `partition of ${vector.hex} among ${count}`);
    }
  }
});

it('kafka-go-hash negates a negative remainder instead of masking the sign bit', () => {
  // "a" hashes to 0xe40c292c, -468965076 as int32: Go's remainder by 10 is -6, negated to 6
  // (masking the sign bit, as Sarama's reference hash and the Java client do, would give 2).
  const key = Buffer.from('a');
  const hash = fnv1a32(key);
  const signed = hash | 0;
  assert.ok(signed < 0, 'this key must hash above 2^31 for the test to mean anything');
  assert.equal(kafkaGoHashPartition(key, 10), Math.abs(signed % 10));
  assert.notEqual(kafkaGoHashPartition(key, 10), (signed & 0x7fffffff) % 10);
  assert.equal(kafkaGoHashPartition(key, 10), 6);
  const keyless = kafkaGoHashPartitioner();
  assert.deepEqual([0, 1, 2, 3].map(() => keyless.partition(null, 0, 3, 0)), [0, 1, 2, 0]);
  assert.equal(createPartitioner('kafka-go-hash').name, 'kafka-go-hash');
});
