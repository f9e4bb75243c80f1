import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { javaKeyPartition, murmur2, toPositive } from '../../src/kafka/murmur2.ts';

interface Vector {
  readonly hex: string;
  readonly murmur2: number;
  readonly partition6: number;
  readonly partition7: number;
  readonly partition100: number;
}

const vectors = readFileSync(new URL('../fixtures/murmur2-vectors.jsonl', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as Vector);

it('matches the Kafka Java client on every golden vector', () => {
  assert.ok(vectors.length >= 60);
  for (const vector of vectors) {
    const key = Buffer.from(vector.hex, 'hex');
    assert.equal(murmur2(key), vector.murmur2, `murmur2 of ${vector.hex}`);
    assert.equal(javaKeyPartition(key, 6), vector.partition6, `partition of ${vector.hex} in 6`);
    assert.equal(javaKeyPartition(key, 7), vector.partition7);
    assert.equal(javaKeyPartition(key, 100), vector.partition100);
  }
});

it('toPositive clears the sign bit as Java does, also for the minimum int', () => {
  assert.equal(toPositive(-2147483648), 0);
  assert.equal(toPositive(-1), 2147483647);
  assert.equal(toPositive(5), 5);
});
