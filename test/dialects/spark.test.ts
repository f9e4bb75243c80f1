/**
 * Spark's words: `writeStream(...)` and sparklyr's `stream_write_kafka(...)`, end to end against
 * the broker and read back with kcat; the three output modes on a grouped count, and Spark's
 * record columns (key, value, topic, partition, headers).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type StreamingQuery, streamTriggerInterval, stream_write_kafka, writeStream } from '../../src/dialects/spark.ts';
import { ErrorCode } from '../../src/errors.ts';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import { count } from '../../src/model/aggregations.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { inputTable } from '../../src/sources/input-table.ts';
import { newTable } from '../../src/sources/static-table.ts';
import { foldComplete, foldUpsert, fromKcat } from '../helpers/changelog-fold.ts';
import { bootstrapServers, eventually, kcatRead, randomTopic } from '../helpers/kafka.ts';

/** A stream of words and its grouped count, with Spark's `key` and `value` columns. */
function wordCounts() {
  const words = inputTable(defineSchema({ word: 'string' }));
  const counts = words.aggBy({ count: count() }, ['word']).update({
    key: { type: 'string', formula: (row) => row.word },
    value: { type: 'string', formula: (row) => (row.count as bigint).toString() },
  });
  return { words, counts };
}

async function feed(words: ReturnType<typeof wordCounts>['words'], query: StreamingQuery): Promise<void> {
  // Connecting and creating the topic take a moment on a busy machine; feed once the sink runs,
  // so the batches fall into several triggers.
  await eventually(() => Promise.resolve(query.sink.state), (state) => state !== 'created' && state !== 'starting', 20_000);
  for (const batch of [['a', 'b', 'a'], ['c'], ['a', 'c', 'd']]) {
    words.add(batch.map((word) => ({ word })));
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  words.close();
  await query.awaitTermination();
}

const finalCounts = ['a', 'b', 'c', 'd'].map((word) => ({ a: '3', b: '1', c: '2', d: '1' })[word] as string).sort();

describe('Spark output modes on a grouped count', () => {
  it('complete: every trigger writes every count; the last trigger is the table', async () => {
    const topic = randomTopic('spark-complete');
    const { words, counts } = wordCounts();
    const query = writeStream(counts)
      .format('kafka')
      .outputMode('complete')
      .trigger({ processingTime: '100 milliseconds' })
      .option('kafka.bootstrap.servers', bootstrapServers())
      .option('topic', topic)
      .option('checkpointLocation', mkdtempSync(join(tmpdir(), 'spillway-checkpoint-')))
      .start();
    await feed(words, query);
    const records = fromKcat(await kcatRead(topic));
    assert.deepEqual(foldComplete(records), finalCounts);
    assert.ok(query.sink.metrics.triggers >= 2, `expected several triggers, saw ${query.sink.metrics.triggers}`);
    assert.deepEqual([...new Set(records.map((r) => r.key))].sort(), ['a', 'b', 'c', 'd']);
  });

  it('update: each trigger writes the counts that changed; compacting by key gives the table', async () => {
    const topic = randomTopic('spark-update');
    const { words, counts } = wordCounts();
    const query = writeStream(counts)
      .format('kafka')
      .outputMode('update')
      .trigger({ processingTime: 100 })
      .options({ 'kafka.bootstrap.servers': bootstrapServers(), topic })
      .start();
    await feed(words, query);
    const records = fromKcat(await kcatRead(topic));
    assert.deepEqual(foldUpsert(records), finalCounts);
    // "b" changed once, so update mode wrote it once; complete mode would have repeated it.
    assert.equal(records.filter((r) => r.key === 'b').length, 1);
  });

  it('append: refused on a grouped count (its rows change), accepted on the words themselves', async () => {
    const { words, counts } = wordCounts();
    const builder = () => writeStream(counts).format('kafka').option('kafka.bootstrap.servers', bootstrapServers()).option('topic', 'never');
    assert.throws(() => builder().start(), {
      code: ErrorCode.IncompatibleMode,
      message: /update mode "append" cannot express a removal or an update, and this table updates or deletes rows; choose "upsert" or "retract"/,
    });
    const topic = randomTopic('spark-append');
    const query = writeStream(words.update({ value: { type: 'string', formula: (row) => row.word } }))
      .format('kafka')
      .outputMode('append')
      .option('kafka.bootstrap.servers', bootstrapServers())
      .option('topic', topic)
      .start();
    await feed(words, query);
    assert.deepEqual((await kcatRead(topic)).map((r) => r.value?.toString()).sort(), ['a', 'a', 'a', 'b', 'c', 'c', 'd']);
  });
});

describe("Spark's record columns", () => {
  it('routes by the topic column, chooses partitions, writes headers', async () => {
    const [first, second] = [randomTopic('spark-route'), randomTopic('spark-route')] as [string, string];
    await createTopic([bootstrapServers()], first, { partitions: 3 });
    await createTopic([bootstrapServers()], second, { partitions: 3 });
    const table = newTable(defineSchema({ key: 'string', value: 'bytes', topic: 'string', partition: 'int32', headers: 'json' }), [
      { key: 'k1', value: Buffer.from('v1'), topic: second, partition: 2, headers: [{ key: 'source', value: 'test' }] },
      { key: 'k2', value: Buffer.from('v2'), topic: first, partition: 1, headers: { trace: 'x' } },
    ]);
    const query = writeStream(table).format('kafka').option('kafka.bootstrap.servers', bootstrapServers()).start();
    await query.awaitTermination();
    assert.deepEqual((await kcatRead(second)).map((r) => [r.partition, r.key?.toString(), r.value?.toString(), r.headers]), [[2, 'k1', 'v1', 'source=test']]);
    assert.deepEqual((await kcatRead(first)).map((r) => [r.partition, r.key?.toString(), r.value?.toString(), r.headers]), [[1, 'k2', 'v2', 'trace=x']]);
  });

  it('writes every row to the topic option when one is given, over a topic column, as Spark does', async () => {
    const [option, column] = [randomTopic('spark-option'), randomTopic('spark-column')] as [string, string];
    await createTopic([bootstrapServers()], option, { partitions: 1 });
    const table = newTable(defineSchema({ value: 'string', topic: 'string' }), [{ value: 'a', topic: column }, { value: 'b', topic: column }]);
    await writeStream(table).format('kafka').option('kafka.bootstrap.servers', bootstrapServers()).option('topic', option).start().awaitTermination();
    assert.deepEqual((await kcatRead(option)).map((r) => r.value?.toString()), ['a', 'b']);
  });

  it('without a value column, writes the other columns as JSON; partitionBy spreads by columns', async () => {
    const topic = randomTopic('spark-json');
    await createTopic([bootstrapServers()], topic, { partitions: 4 });
    const rows = Array.from({ length: 40 }, (_, i) => ({ region: `r${i % 4}`, n: i }));
    const query = stream_write_kafka(newTable(defineSchema({ region: 'string', n: 'int32' }), rows), {
      mode: 'append',
      trigger: streamTriggerInterval(50),
      checkpoint: mkdtempSync(join(tmpdir(), 'spillway-checkpoint-')),
      options: { 'kafka.bootstrap.servers': bootstrapServers(), topic },
      partition_by: ['region'],
    });
    await query.awaitTermination();
    const records = await kcatRead(topic);
    assert.equal(records.length, 40);
    const partitionsOfRegion = new Map<string, Set<number>>();
    for (const record of records) {
      const { region } = JSON.parse(record.value?.toString() ?? '{}') as { region: string };
      partitionsOfRegion.set(region, (partitionsOfRegion.get(region) ?? new Set()).add(record.partition));
    }
    assert.deepEqual([...partitionsOfRegion.values()].map((set) => set.size), [1, 1, 1, 1]);
    assert.equal(records[0]?.key, null);
  });
});

describe('Spark dialect errors', () => {
  const table = newTable(defineSchema({ value: 'string' }), [{ value: 'x' }]);

  it('names a wrong format, a missing topic and unknown options', () => {
    assert.throws(() => writeStream(table).format('parquet').start(), {
      code: ErrorCode.InvalidConfig,
      message: 'writeStream: format "parquet" is not supported; Spillway writes to Kafka: call .format("kafka")',
    });
    assert.throws(() => writeStream(table).format('kafka').option('kafka.bootstrap.servers', 'x:1').start(), {
      code: ErrorCode.InvalidConfig,
      message: 'writeStream: no topic; set .option("topic", name) or give the table a "topic" column',
    });
    assert.throws(() => writeStream(table).format('kafka').option('topik', 't').option('bootstrap.servers', 'x:1').start(), {
      code: ErrorCode.InvalidConfig,
      message: 'writeStream: unknown option(s) "topik" (did you mean "topic"?), "bootstrap.servers" (did you mean "kafka.bootstrap.servers"?); Kafka properties take the "kafka." prefix, as in "kafka.bootstrap.servers"',
    });
    assert.throws(() => stream_write_kafka(table, { options: { 'kafka.bootstrap.server': 'x:1', topic: 't' } }), {
      code: ErrorCode.InvalidConfig,
      message: /`bootstrap.server` is not a Kafka producer property of librdkafka or the Java client; did you mean `bootstrap.servers`\?/,
    });
  });
});
