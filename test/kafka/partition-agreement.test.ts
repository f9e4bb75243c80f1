/**
 * A key lands on the partition the Java client (and librdkafka's murmur2_random) would choose:
 * Spillway writes keys to one topic, kcat writes the same keys to another with the same
 * partition count, and each key's partition must agree.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { it } from 'node:test';

import { produce } from '../../src/dialects/deephaven.ts';
import { simpleSpec } from '../../src/formats/key-value-spec.ts';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { newTable } from '../../src/sources/static-table.ts';
import { bootstrapServers, kcatRead, randomTopic } from '../helpers/kafka.ts';


it('puts each key on the same partition as kcat with partitioner=murmur2_random', async () => {
  const ours = randomTopic('agree-spillway');
  const theirs = randomTopic('agree-kcat');
  await createTopic([bootstrapServers()], ours, { partitions: 6 });
  await createTopic([bootstrapServers()], theirs, { partitions: 6 });
  const keys = Array.from({ length: 60 }, (_v, i) => `key-${i}-${'x'.repeat(i % 7)}`);

  const sink = produce(newTable(defineSchema({ k: 'string' }), keys.map((k) => ({ k }))), { 'bootstrap.servers': bootstrapServers() }, ours, simpleSpec('k'), simpleSpec('k'));
  await sink.done;

  const child = execFile('kcat', ['-b', bootstrapServers(), '-P', '-t', theirs, '-K', '\t', '-X', 'partitioner=murmur2_random']);
  const finished = new Promise<void>((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kcat exited ${String(code)}`)))));
  child.stdin?.end(keys.map((k) => `${k}\t${k}`).join('\n') + '\n');
  await finished;

  const partitionOf = async (topic: string) => new Map((await kcatRead(topic)).map((r) => [r.key?.toString() ?? '', r.partition]));
  const spillway = await partitionOf(ours);
  const kcat = await partitionOf(theirs);
  assert.equal(spillway.size, keys.length);
  assert.deepEqual(spillway, kcat);
  assert.ok(new Set(spillway.values()).size > 1, 'keys should spread over partitions');
});
