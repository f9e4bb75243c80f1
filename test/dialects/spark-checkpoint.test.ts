/**
 * The checkpoint of a Spark query that reads Kafka, on the real broker: the sparklyr seed's
 * `stream_read_kafka |> stream_write_kafka(checkpoint = …)` stopped and started again with the same
 * checkpoint goes on at the offsets the checkpoint holds (startingOffsets ignored, as in Spark), so
 * the output topic, read back with kcat, holds every input record once. Spark's Kafka source as a
 * replayable source (position, row ids, resumeFrom); what a checkpoint cannot resume is refused.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, describe, it } from 'node:test';
import {
  type StreamingQuery,
  readStream,
  streamTriggerInterval,
  stream_read_kafka,
  stream_stop,
  stream_write_kafka,
  writeStream,
} from '../../src/dialects/spark.ts';
import { ErrorCode, SpillwayError } from '../../src/errors.ts';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import { MemoryWriter } from '../../src/kafka/memory-writer.ts';
import { PositionKind } from '../../src/model/position.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { CheckpointLocation } from '../../src/sink/checkpoint-location.ts';
import { isResumable, replayabilityOf } from '../../src/sources/source.ts';
import { SparkKafkaSource } from '../../src/sources/spark-kafka-source.ts';
import { newTable } from '../../src/sources/static-table.ts';
import { bootstrapServers, eventually, kcatRead, randomTopic } from '../helpers/kafka.ts';

/** Writes keyless values to one partition with kcat, an independent writer. */
async function kcatWrite(topic: string, partition: number, values: readonly string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = execFile('kcat', ['-b', bootstrapServers(), '-P', '-t', topic, '-p', String(partition)], (error) =>
      error === null ? resolve() : reject(new Error(`kcat -P failed: ${error.message}`)),
    );
    child.stdin?.end(`${values.join('\n')}\n`);
  });
}

async function valuesOf(topic: string): Promise<string[]> {
  return (await kcatRead(topic)).map((record) => record.value?.toString() ?? 'null').sort();
}

async function untilWritten(topic: string, count: number): Promise<void> {
  await eventually(() => kcatRead(topic), (records) => records.length >= count, 30_000);
}

/** The position the query's checkpoint holds (the sink is named after the topic it writes). */
async function storedPosition(checkpoint: string, out: string) {
  const location = await CheckpointLocation.open(checkpoint, { sink: `spark-${out}`, topic: out });
  return (await location.readProgress(0))?.position;
}

/** Stops the query when the test ends, so a failing test leaves nothing running (stopping twice is harmless). */
function stopsAtEnd(context: TestContext, query: StreamingQuery): StreamingQuery {
  context.after(() => stream_stop(query).catch(() => {}));
  return query;
}

const range = (prefix: string, from: number, to: number) => Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);

describe('a Spark query with a checkpoint, stopped and started again', () => {
  it('the seed\'s pipeline (startingOffsets latest) goes on at the stored offsets: what came while it was down is copied, nothing twice', async (context) => {
    const [input, out] = [randomTopic('spark-ckpt-in'), randomTopic('spark-ckpt-out')];
    await createTopic([bootstrapServers()], input, { partitions: 2 });
    await createTopic([bootstrapServers()], out, { partitions: 2 });
    // Before the first run: startingOffsets "latest" leaves these out, then and after the restart.
    await kcatWrite(input, 0, ['old0']);
    await kcatWrite(input, 1, ['old1']);
    const checkpoint = mkdtempSync(join(tmpdir(), 'spillway-spark-ckpt-'));
    const start = () => {
      const source = stream_read_kafka(undefined, { options: { 'kafka.bootstrap.servers': bootstrapServers(), subscribe: input } });
      const query = stream_write_kafka(source, { trigger: streamTriggerInterval(100), checkpoint, options: { 'kafka.bootstrap.servers': bootstrapServers(), topic: out } });
      return { source, query: stopsAtEnd(context, query) };
    };

    const first = start();
    await first.source.ready;
    await kcatWrite(input, 0, range('n', 0, 3));
    await kcatWrite(input, 1, range('n', 3, 6));
    await untilWritten(out, 6);
    await stream_stop(first.query);
    // What was acknowledged, as the next offset of each partition: one old record and three new ones each.
    assert.deepEqual(await storedPosition(checkpoint, out), { kind: PositionKind.Kafka, topic: input, offsets: [{ partition: 0, offset: '4' }, { partition: 1, offset: '4' }] });

    // While the query is down.
    await kcatWrite(input, 0, range('m', 0, 2));
    await kcatWrite(input, 1, range('m', 2, 4));

    const second = start();
    await second.source.ready;
    await untilWritten(out, 10);
    await stream_stop(second.query);
    assert.equal(second.source.records, 4, 'the restart reads from the stored offsets, not from startingOffsets');
    assert.deepEqual(await valuesOf(out), [...range('m', 0, 4), ...range('n', 0, 6)].sort());
    assert.deepEqual(await storedPosition(checkpoint, out), { kind: PositionKind.Kafka, topic: input, offsets: [{ partition: 0, offset: '6' }, { partition: 1, offset: '6' }] });
  });

  it('startingOffsets earliest through an operator: the restart reads only what came after the stored offsets', async (context) => {
    const [input, out] = [randomTopic('spark-ckpt-early-in'), randomTopic('spark-ckpt-early-out')];
    await createTopic([bootstrapServers()], input, { partitions: 1 });
    await createTopic([bootstrapServers()], out, { partitions: 1 });
    await kcatWrite(input, 0, range('n', 0, 5));
    const checkpoint = mkdtempSync(join(tmpdir(), 'spillway-spark-ckpt-'));
    const start = () => {
      const source = readStream().format('kafka').options({ 'kafka.bootstrap.servers': bootstrapServers(), subscribe: input, startingOffsets: 'earliest' }).load();
      const query = writeStream(source.select(['value']))
        .format('kafka')
        .trigger({ processingTime: 100 })
        .options({ 'kafka.bootstrap.servers': bootstrapServers(), topic: out, checkpointLocation: checkpoint })
        .start();
      return { source, query: stopsAtEnd(context, query) };
    };

    const first = start();
    await untilWritten(out, 5);
    await stream_stop(first.query);
    await kcatWrite(input, 0, range('m', 0, 3));

    const second = start();
    await untilWritten(out, 8);
    await stream_stop(second.query);
    // Without the stored offsets, "earliest" would read all eight records again.
    assert.equal(second.source.records, 3);
    assert.deepEqual(await valuesOf(out), [...range('m', 0, 3), ...range('n', 0, 5)].sort());
  });
});

describe("Spark's Kafka source as a replayable source", () => {
  const kafkaConfig = { 'bootstrap.servers': '127.0.0.1:1' };
  // Closed in the step they are made in, so they never connect.
  const made = (options: Partial<ConstructorParameters<typeof SparkKafkaSource>[0]> = {}) => {
    const source = new SparkKafkaSource({ kafkaConfig, topics: ['t'], startingOffsets: 'latest', includeHeaders: false, readCommitted: false, ...options });
    void source.close();
    return source;
  };

  it('reading one topic it is resumable; its position names each partition startingOffsets gives an offset', () => {
    const source = made({ assign: { t: [0, 1, 2] }, startingOffsets: { t: { 0: 5, 1: -2, 2: 0 } } });
    assert.equal(isResumable(source), true);
    assert.deepEqual(replayabilityOf(source), { replayable: true, warnings: [] });
    assert.deepEqual(source.position, { kind: PositionKind.Kafka, topic: 't', offsets: [{ partition: 0, offset: '5' }, { partition: 2, offset: '0' }] });
    assert.deepEqual(made().position, { kind: PositionKind.Kafka, topic: 't', offsets: [] });
  });

  it('tells the rows a position had emitted by their ids, topic/partition@offset', () => {
    const source = made();
    const position = { kind: PositionKind.Kafka, topic: 't', offsets: [{ partition: 1, offset: '3' }] };
    assert.equal(source.rowEmittedBy('t/1@2', position), true);
    assert.equal(source.rowEmittedBy('t/1@3', position), false);
    assert.equal(source.rowEmittedBy('t/0@0', position), false, 'a partition the position does not name was not read');
    assert.equal(source.rowEmittedBy('u/1@2', position), undefined);
    assert.equal(source.rowEmittedBy('t/1@2', { ...position, topic: 'u' }), undefined);
  });

  it('reading several topics, or a pattern\'s, it has no position and says why it cannot be replayed', () => {
    const several = made({ topics: ['a', 'b'] });
    assert.equal(several.position, undefined);
    assert.equal(isResumable(several), false);
    assert.deepEqual(replayabilityOf(several).warnings, [
      'Spark Kafka source "kafka-source-a,b" cannot be replayed (it reads several topics ("a", "b"), and a Kafka position holds the offsets of one topic): ' +
        'after a restart its rows are not read again, so delivery is at-least-once for what was written and rows accepted but not yet written are lost',
    ]);
    assert.throws(() => several.resumeFrom({ kind: PositionKind.Kafka, topic: 'a', offsets: [] }), {
      code: ErrorCode.InvalidConfig,
      message: 'kafka-source-a,b.resumeFrom(): this source cannot be resumed: it reads several topics ("a", "b"), and a Kafka position holds the offsets of one topic; read each topic with a source of its own',
    });
    const pattern = made({ topics: undefined, topicPattern: 't.*' });
    assert.equal(pattern.capabilities.replayable, false);
    assert.equal(pattern.position, undefined);
  });

  it('refuses to resume from a position of another kind or another topic', () => {
    const source = made();
    assert.throws(() => source.resumeFrom({ kind: PositionKind.Row, index: 3 }), {
      code: ErrorCode.InvalidConfig,
      message: 'kafka-source-t.resumeFrom(): a position of kind "row" cannot resume a source whose positions are of kind "kafka"; give a position this source reported (a batch\'s position, or its `position`)',
    });
    assert.throws(() => source.resumeFrom({ kind: PositionKind.Kafka, topic: 'u', offsets: [] }), {
      code: ErrorCode.InvalidConfig,
      message: 'kafka-source-t.resumeFrom(): the position is in topic "u", not "t", which this source reads; resume the source that reported it',
    });
  });

  it('resumeFrom reads the rest of the topic on the broker: the same rows with the same ids, startingOffsets ignored', async () => {
    const topic = randomTopic('spark-resume-from');
    await createTopic([bootstrapServers()], topic, { partitions: 1 });
    await kcatWrite(topic, 0, range('v', 0, 5));
    const source = readStream().format('kafka').options({ 'kafka.bootstrap.servers': bootstrapServers(), subscribe: topic, startingOffsets: 'earliest' }).load();
    await eventually(() => Promise.resolve(source.size), (size) => size === 5);
    await source.close();
    assert.deepEqual(source.position, { kind: PositionKind.Kafka, topic, offsets: [{ partition: 0, offset: '5' }] });
    const firstIds = [...source.rows()].map(([id]) => id);
    assert.deepEqual(firstIds, range(`${topic}/0@`, 0, 5));

    const rest = source.resumeFrom({ kind: PositionKind.Kafka, topic, offsets: [{ partition: 0, offset: '3' }] });
    await eventually(() => Promise.resolve(rest.size), (size) => size === 2);
    await rest.close();
    assert.deepEqual([...rest.rows()].map(([id, row]) => [id, Buffer.from(row.value as Uint8Array).toString()]), [[`${topic}/0@3`, 'v3'], [`${topic}/0@4`, 'v4']]);
    assert.equal(rest.records, 2, 'nothing before the position is fetched');
  });
});

describe('what a checkpoint cannot resume is refused', () => {
  const servers = '127.0.0.1:1';
  // A short request timeout, so closing a source that cannot connect does not wait long.
  const read = (options: Record<string, string>) => stream_read_kafka(undefined, { options: { 'kafka.bootstrap.servers': servers, 'kafka.request.timeout.ms': 1000, ...options } });
  const write = (source: SparkKafkaSource, checkpoint: string): StreamingQuery =>
    stream_write_kafka(source, { checkpoint, options: { 'kafka.bootstrap.servers': servers, topic: 'out' }, dependencies: { createWriter: () => new MemoryWriter() } });
  const directory = () => mkdtempSync(join(tmpdir(), 'spillway-spark-ckpt-'));

  it('a source reading several topics, or a pattern\'s, before anything starts', async () => {
    const several = read({ subscribe: 'a,b' });
    assert.throws(() => write(several, directory()), (error: unknown) => {
      assert.ok(error instanceof SpillwayError);
      assert.equal(error.code, ErrorCode.InvalidConfig);
      assert.equal(
        error.message,
        'kafka-source-a,b: a checkpoint cannot resume this source: it reads several topics ("a", "b"), and a Kafka position holds the offsets of one topic; ' +
          'read one topic in a query with a checkpoint (subscribe to one topic, or assign partitions of one), or leave the checkpoint out',
      );
      assert.equal(error.details.field, 'checkpointLocation');
      return true;
    });
    const pattern = read({ subscribePattern: 'a.*' });
    assert.throws(() => write(pattern, directory()), {
      code: ErrorCode.InvalidConfig,
      message:
        'kafka-source-a.*: a checkpoint cannot resume this source: it reads the topics a pattern matches, and a Kafka position holds the offsets of one topic; ' +
        'read one topic in a query with a checkpoint (subscribe to one topic, or assign partitions of one), or leave the checkpoint out',
    });
    await Promise.all([several.close(), pattern.close()]);
  });

  it('a source that reads already, and a second query with a checkpoint on one source', async () => {
    const late = read({ subscribe: 't' });
    await new Promise((resolve) => setImmediate(resolve));
    assert.throws(() => write(late, directory()), {
      code: ErrorCode.InvalidState,
      message:
        'kafka-source-t: it reads from startingOffsets already, so the checkpoint can no longer choose where it starts; ' +
        'start the query (stream_write_kafka or writeStream().start()) in the step that made the source (stream_read_kafka or load()), before any await',
    });
    await late.close();

    const shared = read({ subscribe: 't' });
    const query = write(shared, directory());
    assert.throws(() => write(shared, directory()), {
      code: ErrorCode.InvalidState,
      message: 'kafka-source-t: a query with a checkpoint reads this source already; as in Spark, each query reads with a source of its own: make another with stream_read_kafka or readStream().load()',
    });
    await stream_stop(query).catch(() => {});
  });

  it('a checkpoint holding another topic\'s offsets fails the source, saying what to do', async () => {
    const checkpoint = directory();
    const location = await CheckpointLocation.open(checkpoint, { sink: 'spark-out', topic: 'out' });
    await location.writeProgress({ sink: 'spark-out', shard: 0, epoch: 0, position: { kind: PositionKind.Kafka, topic: 'other', offsets: [{ partition: 0, offset: '7' }] } });
    const source = read({ subscribe: 't' });
    const query = write(source, checkpoint);
    await assert.rejects(source.done, (error: unknown) => {
      assert.ok(error instanceof SpillwayError);
      assert.equal(error.code, ErrorCode.InvalidConfig);
      assert.equal(
        error.message,
        'kafka-source-t: the checkpoint holds the offsets of topic "other", not of "t", which this source reads; give this query a checkpoint location of its own, or delete this one to start the query over',
      );
      return true;
    });
    await assert.rejects(query.awaitTermination(), /its source failed: kafka-source-t: the checkpoint holds the offsets of topic "other"/);
  });
});

describe('stream_write_kafka arguments', () => {
  const table = newTable(defineSchema({ value: 'string' }), [{ value: 'x' }]);
  const options = { 'kafka.bootstrap.servers': '127.0.0.1:1', topic: 't' };
  // As a JavaScript caller passes them: TypeScript would catch these names.
  const call = (args: object) => () => stream_write_kafka(table, args);
  const known = 'the arguments are mode, trigger, checkpoint, options, partition_by (or partitionBy), name and dependencies';

  it('refuses an unknown name, naming it and the argument meant', () => {
    assert.throws(call({ checkpointLocation: '/tmp/ckpt', options }), (error: unknown) => {
      assert.ok(error instanceof SpillwayError);
      assert.equal(error.code, ErrorCode.InvalidConfig);
      assert.equal(error.message, `stream_write_kafka: checkpointLocation: unknown argument (did you mean "checkpoint"?); ${known}`);
      assert.deepEqual(error.details, {
        field: 'checkpointLocation',
        hint: known,
        problems: [{ field: 'checkpointLocation', message: 'checkpointLocation: unknown argument (did you mean "checkpoint"?)' }],
      });
      return true;
    });
    assert.throws(call({ partitionby: ['value'], modes: 'append', colour: 'red', options }), {
      code: ErrorCode.InvalidConfig,
      message: `stream_write_kafka: partitionby: unknown argument (did you mean "partitionBy"?); modes: unknown argument (did you mean "mode"?); colour: unknown argument; ${known}`,
    });
  });

  it('refuses a value of the wrong kind, and an argument given twice', () => {
    assert.throws(call({ mode: 'retract', options }), {
      code: ErrorCode.InvalidConfig,
      message: 'stream_write_kafka: mode: Invalid option: expected one of "append"|"complete"|"update"',
    });
    assert.throws(call({ checkpoint: '/tmp/a', options: { ...options, checkpointLocation: '/tmp/b' } }), {
      code: ErrorCode.InvalidConfig,
      message: 'stream_write_kafka: checkpoint and options.checkpointLocation are both given; give it once',
    });
    assert.throws(call({ partition_by: ['value'], partitionBy: ['value'], options }), {
      code: ErrorCode.InvalidConfig,
      message: 'stream_write_kafka: partition_by and partitionBy are both given; give it once',
    });
  });
});
