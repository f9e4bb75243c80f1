/**
 * Spark's continuous trigger keeps its checkpoint interval as the epoch length:
 * `stream_trigger_continuous(checkpoint = 300)` writes as rows arrive (not held back by a long
 * linger.ms) and reports progress at each epoch's end; read back with kcat.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { streamTriggerContinuous, stream_write_kafka } from '../../src/dialects/spark.ts';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { inputTable } from '../../src/sources/input-table.ts';
import type { SinkProgress } from '../../src/sink/epoch-clock.ts';
import { bootstrapServers, eventually, kcatRead, randomTopic } from '../helpers/kafka.ts';

it('stream_trigger_continuous(checkpoint) is the epoch: rows land within an epoch and each epoch is reported', async () => {
  const topic = randomTopic('spark-continuous');
  await createTopic([bootstrapServers()], topic, { partitions: 1 });
  const words = inputTable(defineSchema({ value: 'string' }));
  const progress: SinkProgress[] = [];
  const query = stream_write_kafka(words, {
    trigger: streamTriggerContinuous(300),
    // A minute of linger would hold every row back; the epoch's end writes them.
    options: { 'kafka.bootstrap.servers': bootstrapServers(), 'kafka.linger.ms': 60_000, topic },
    dependencies: { onProgress: (report) => progress.push(report) },
  });
  await eventually(() => Promise.resolve(progress.length), (reports) => reports > 0, 10_000);
  const added = Date.now();
  words.add([{ value: 'a' }, { value: 'b' }]);
  const records = await eventually(() => kcatRead(topic), (read) => read.length === 2, 10_000);
  assert.ok(Date.now() - added < 5_000, `took ${Date.now() - added} ms for an epoch of 300 ms`);
  assert.deepEqual(records.map((record) => record.value?.toString()), ['a', 'b']);
  const reported = await eventually(() => Promise.resolve(progress.at(-1)?.records ?? 0), (acknowledged) => acknowledged === 2, 5_000);
  assert.equal(reported, 2);
  await query.stop();
  assert.deepEqual(progress.map((report) => report.epoch), progress.map((_report, index) => index));
  assert.ok(progress.length >= 2);
});
