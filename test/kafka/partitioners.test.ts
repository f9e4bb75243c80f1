import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createPartitioner, fixedPartitioner, hashPartitioner, leastBytesPartitioner, roundRobinPartitioner } from '../../src/kafka/partitioners.ts';
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
  assert.throws(() => createPartitioner('sticky' as never), {
    code: 'INVALID_CONFIG',
    message: 'unknown partitioner "sticky"; use one of hash, round-robin, least-bytes, fixed',
  });
});
